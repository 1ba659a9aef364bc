import { MigrationDetail } from '../_components/migration-detail';

export default async function MigrationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <MigrationDetail id={id} />;
}
