import { recordAudit } from '../audit/record';
import type { Db } from '../db';
import type { Role } from './roles';

/**
 * The one place a refused call is audited, for tRPC procedures and route handlers alike. Calls refused for
 * having no session at all are not written: anyone on the network could fill the log with them.
 */
export async function auditAccessRefusal(options: {
  db: Db;
  actor: { name: string; role: Role };
  clientAddress: string | null;
  target: string;
  needed: Role;
}) {
  const { db, actor, clientAddress, target, needed } = options;
  await db.$transaction((tx) =>
    recordAudit(tx, {
      actor: actor.name,
      clientAddress,
      action: 'access.refused',
      result: 'refused',
      details: { target, needs: needed, role: actor.role },
    }),
  );
}
