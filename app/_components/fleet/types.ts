import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/api/root';

type FleetOutput = inferRouterOutputs<AppRouter>['fleet']['list'];
export type HostSnapshotView = FleetOutput[number];
export type VmView = HostSnapshotView['vms'][number];
