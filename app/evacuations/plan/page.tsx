import { notFound } from 'next/navigation';
import { db } from '@/server/db';
import { EvacuationPlan } from '../_components/evacuation-plan';

export default async function EvacuationPlanPage({
  searchParams,
}: {
  searchParams: Promise<{ host?: string; kind?: string }>;
}) {
  const { host: hostId, kind } = await searchParams;
  const host = hostId ? await db.host.findUnique({ where: { id: hostId }, select: { id: true } }) : null;
  if (!host) notFound();
  return <EvacuationPlan hostId={host.id} kind={kind === 'bring-back' ? 'bring-back' : 'evacuate'} />;
}
