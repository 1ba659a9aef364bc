-- Per-host migration limits and bandwidth cap (issue #10, "Limits and a queue").
ALTER TABLE "Host" ADD COLUMN "maxOutgoingMigrations" INTEGER NOT NULL DEFAULT 2;
ALTER TABLE "Host" ADD COLUMN "maxIncomingMigrations" INTEGER NOT NULL DEFAULT 2;
ALTER TABLE "Host" ADD COLUMN "bandwidthCapMiBps" INTEGER;

-- The bandwidth share a running job got from its hosts' caps.
ALTER TABLE "Migration" ADD COLUMN "bandwidthShareMiBps" INTEGER;

-- One unfinished migration per VM, held by the database itself so two requests (or two Ferry processes) that
-- both found no active job cannot both insert one. A partial unique index (SQLite and PostgreSQL both have
-- them; Prisma's schema cannot express one, so it lives only here). Rows without a UUID (from before UUIDs were
-- recorded) never collide: NULLs are distinct. The state list is ACTIVE_STATES in server/migrations/types.ts.
CREATE UNIQUE INDEX "Migration_one_active_per_vm" ON "Migration"("vmUuid")
  WHERE "state" IN ('queued', 'preflight', 'running', 'cancelling');

-- The scheduler's reads: queued jobs in FIFO order, and the jobs holding a slot per host.
CREATE INDEX "Migration_state_sourceHostId_idx" ON "Migration"("state", "sourceHostId");
CREATE INDEX "Migration_state_destinationHostId_idx" ON "Migration"("state", "destinationHostId");
