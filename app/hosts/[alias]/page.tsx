import { HostDetail } from '../_components/host-detail';

export default async function HostPage({ params }: { params: Promise<{ alias: string }> }) {
  const { alias } = await params;
  return <HostDetail alias={decodeURIComponent(alias)} />;
}
