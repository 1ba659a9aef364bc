import { notFound } from 'next/navigation';
import { db } from '@/server/db';
import { MigrationDetail } from '../_components/migration-detail';

export default async function MigrationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  // An unknown id is a 404 for the browser and for crawlers alike, not a page that says "not found".
  const migration = await db.migration.findUnique({ where: { id }, select: { id: true } });
  if (!migration) notFound();
  return <MigrationDetail id={id} />;
}
