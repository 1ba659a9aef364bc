import { notFound } from 'next/navigation';
import { db } from '@/server/db';
import { EvacuationDetail } from '../_components/evacuation-detail';

export default async function EvacuationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const evacuation = await db.evacuation.findUnique({ where: { id }, select: { id: true } });
  if (!evacuation) notFound();
  return <EvacuationDetail id={id} />;
}
