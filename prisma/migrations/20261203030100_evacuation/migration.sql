-- Issue #12: host maintenance flag, evacuations and their items, migrations linked to an evacuation.
ALTER TABLE "Host" ADD COLUMN "inMaintenance" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "Host" ADD COLUMN "maintenanceSince" DATETIME;
ALTER TABLE "Migration" ADD COLUMN "evacuationId" TEXT;
CREATE TABLE "Evacuation" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL,
    "hostId" TEXT NOT NULL,
    "hostAlias" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'running',
    "actor" TEXT NOT NULL,
    "options" TEXT NOT NULL,
    "fromEvacuationId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" DATETIME
);
CREATE TABLE "EvacuationItem" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "evacuationId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "vmName" TEXT NOT NULL,
    "vmUuid" TEXT NOT NULL,
    "sourceHostId" TEXT NOT NULL,
    "sourceAlias" TEXT NOT NULL,
    "destinationHostId" TEXT,
    "destinationAlias" TEXT,
    "storage" TEXT NOT NULL DEFAULT 'copy-all',
    "state" TEXT NOT NULL,
    "reasons" TEXT NOT NULL DEFAULT '[]',
    "alternatives" TEXT NOT NULL DEFAULT '[]',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "migrationId" TEXT,
    "error" TEXT,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "EvacuationItem_evacuationId_fkey" FOREIGN KEY ("evacuationId") REFERENCES "Evacuation" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "Migration_evacuationId_idx" ON "Migration"("evacuationId");
CREATE INDEX "Evacuation_hostId_createdAt_idx" ON "Evacuation"("hostId", "createdAt");
CREATE INDEX "Evacuation_state_idx" ON "Evacuation"("state");
CREATE INDEX "EvacuationItem_evacuationId_position_idx" ON "EvacuationItem"("evacuationId", "position");
CREATE INDEX "EvacuationItem_migrationId_idx" ON "EvacuationItem"("migrationId");
