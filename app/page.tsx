import { FleetView } from './_components/fleet-view';

export default function FleetPage() {
  return <FleetView />;
}
