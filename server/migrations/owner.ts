import { randomUUID } from 'node:crypto';

/** Identifies this Ferry process as the owner of the jobs it runs (restart recovery looks at it). */
export const PROCESS_OWNER_ID = randomUUID();
