import type { FleetDeltaBatch } from '../inventory/live/live-fleet';
import type { MigrationControlMessage, MigrationEvent, MigrationsChange } from '../migrations/types';

/** Every channel on Ferry's bus and what it carries. A new producer adds its channel here first. */
export type FerryChannels = {
  /** One migration's persisted events, as MigrationEvent rows (see migrations/events.ts). */
  [channel: `migration:${string}`]: MigrationEvent;
  /** The persisted events of every job of one evacuation (or bring-back), as on their own `migration:` channel. */
  [channel: `evacuation-events:${string}`]: MigrationEvent;
  /** Requests to the process running one migration (cancel). */
  [channel: `migration-control:${string}`]: MigrationControlMessage;
  /** Any migration's state change, for lists that want to refresh. */
  migrations: MigrationsChange;
  /** Changes to the live inventory (inventory/live/live-fleet.ts), one batch per read. */
  'fleet-live': FleetDeltaBatch;
};
