import { z } from 'zod';
import { migrationOptionsSchema } from '../libvirt/migration/options';
import { isUuid } from '../libvirt/parsers/list';

/**
 * A migration request as the API takes it (preflight and start): parsed once, at the edge, into the typed value
 * the service and the argv builder take. PURE, so a browser could check a request with it too.
 */
export const migrationRequestSchema = z.object({
  vmName: z.string().min(1).max(255),
  /**
   * The VM's UUID from the inventory (the fleet page has it). Optional for API callers that only know the name;
   * the service then looks the name up on the source and records the UUID it finds.
   */
  vmUuid: z
    .string()
    .refine((text) => isUuid(text.toLowerCase()), 'vmUuid must be a UUID such as 5a0c7c52-0d1e-4c55-9d1b-000000000001')
    .nullish(),
  sourceHostId: z.string().min(1),
  destinationHostId: z.string().min(1, 'Pick a destination host.'),
  options: migrationOptionsSchema,
});

export type MigrationRequest = z.output<typeof migrationRequestSchema>;
