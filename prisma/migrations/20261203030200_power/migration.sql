-- CreateTable
CREATE TABLE "PowerAction" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hostId" TEXT,
    "hostAlias" TEXT NOT NULL,
    "vmName" TEXT NOT NULL,
    "vmUuid" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "message" TEXT,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deadlineAt" DATETIME,
    "finishedAt" DATETIME,
    "dismissed" BOOLEAN NOT NULL DEFAULT false
);

-- CreateIndex
CREATE INDEX "PowerAction_state_dismissed_idx" ON "PowerAction"("state", "dismissed");

-- CreateIndex
CREATE INDEX "PowerAction_vmUuid_startedAt_idx" ON "PowerAction"("vmUuid", "startedAt");

-- One shutdown in flight per VM, held by the database even when two requests (or two Ferry processes) race.
-- A partial index: SQLite and PostgreSQL both have them.
CREATE UNIQUE INDEX "PowerAction_one_pending_per_vm" ON "PowerAction"("vmUuid") WHERE "state" = 'pending';
