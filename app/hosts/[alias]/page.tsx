import { notFound } from 'next/navigation';
import { db } from '@/server/db';
import { isAliasName } from '@/server/libvirt/uri';
import { HostDetail } from '../_components/host-detail';

export default async function HostPage({ params }: { params: Promise<{ alias: string }> }) {
  const { alias } = await params;
  // An unknown alias is a 404 for the browser and for crawlers alike, not a page that says "not found".
  const host = isAliasName(alias) ? await db.host.findUnique({ where: { alias }, select: { id: true } }) : null;
  if (!host) notFound();
  return <HostDetail alias={alias} />;
}
