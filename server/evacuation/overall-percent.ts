/** Whether an evacuation moves this item: not one the plan could not place, nor one the admin left out. */
export function isMovingItem(item: { state: string }): boolean {
  return item.state !== 'unmovable' && item.state !== 'excluded';
}

/**
 * An evacuation's overall percent: the mean over the VMs it moves, each at its current job's percent while
 * submitted, 0 before and 100 after (moved, failed or cancelled: nothing more will happen to it). The server's view
 * and the page share it, so the page can put each running job's pushed percent in and move the overall bar with
 * the rows' bars, between its reads of the view.
 */
export function overallPercent<Item extends { state: string }>(
  items: readonly Item[],
  jobPercent: (item: Item) => number | null,
): number {
  const moving = items.filter(isMovingItem);
  if (moving.length === 0) return 100;
  const done = (item: Item) =>
    item.state === 'submitted' ? (jobPercent(item) ?? 0) : item.state === 'pending' ? 0 : 100;
  return Math.floor(moving.reduce((sum, item) => sum + done(item), 0) / moving.length);
}
