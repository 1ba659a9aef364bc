/** "In maintenance" next to a host's name (fleet header, host page): it takes no migrations while it shows. */
export function MaintenanceBadge({ host }: { host: { alias: string; inMaintenance?: boolean | null } }) {
  if (!host.inMaintenance) return null;
  return (
    <span
      className="rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-900"
      data-maintenance={host.alias}
      title="An evacuation put this host in maintenance: no migrations go to it until an operator ends maintenance."
    >
      in maintenance
    </span>
  );
}
