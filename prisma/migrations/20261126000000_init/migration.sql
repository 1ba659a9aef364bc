-- CreateTable
CREATE TABLE "Host" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "alias" TEXT NOT NULL,
    "uri" TEXT NOT NULL,
    "displayUri" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "executorKind" TEXT NOT NULL DEFAULT 'local',
    "pinnedFingerprint" TEXT,
    "tlsCapable" BOOLEAN NOT NULL DEFAULT false,
    "migrationAddress" TEXT,
    "hostUuid" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "clientAddress" TEXT,
    "action" TEXT NOT NULL,
    "result" TEXT NOT NULL DEFAULT 'ok',
    "hostAlias" TEXT,
    "vmName" TEXT,
    "migrationId" TEXT,
    "details" TEXT NOT NULL DEFAULT '{}',
    "prevHash" TEXT NOT NULL DEFAULT '',
    "hash" TEXT NOT NULL DEFAULT ''
);

-- CreateTable
CREATE TABLE "Migration" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "vmName" TEXT NOT NULL,
    "vmUuid" TEXT,
    "sourceHostId" TEXT,
    "destinationHostId" TEXT,
    "sourceAlias" TEXT NOT NULL,
    "sourceUri" TEXT NOT NULL,
    "destinationAlias" TEXT NOT NULL,
    "destinationUri" TEXT NOT NULL,
    "options" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'queued',
    "percent" INTEGER NOT NULL DEFAULT 0,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "endedAt" DATETIME,
    "durationMs" INTEGER,
    "memoryBytes" BIGINT,
    "diskBytes" BIGINT,
    "avgBandwidthBps" BIGINT,
    "peakBandwidthBps" BIGINT,
    "downtimeMs" INTEGER,
    "errorCode" TEXT,
    "errorMessage" TEXT,
    "rawError" TEXT,
    "checklist" TEXT NOT NULL DEFAULT '[]',
    "output" TEXT NOT NULL DEFAULT '',
    "ownerId" TEXT,
    "heartbeatAt" DATETIME,
    CONSTRAINT "Migration_sourceHostId_fkey" FOREIGN KEY ("sourceHostId") REFERENCES "Host" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "Migration_destinationHostId_fkey" FOREIGN KEY ("destinationHostId") REFERENCES "Host" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "MigrationEvent" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "migrationId" TEXT NOT NULL,
    "at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" TEXT NOT NULL,
    "data" TEXT NOT NULL,
    CONSTRAINT "MigrationEvent_migrationId_fkey" FOREIGN KEY ("migrationId") REFERENCES "Migration" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "UriAlias" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "uri" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "Setting" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "value" TEXT NOT NULL,
    "updatedAt" DATETIME NOT NULL
);

-- CreateIndex
CREATE UNIQUE INDEX "Host_alias_key" ON "Host"("alias");

-- CreateIndex
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");

-- CreateIndex
CREATE INDEX "AuditEvent_actor_at_idx" ON "AuditEvent"("actor", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_action_at_idx" ON "AuditEvent"("action", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_hostAlias_at_idx" ON "AuditEvent"("hostAlias", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_vmName_at_idx" ON "AuditEvent"("vmName", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_result_at_idx" ON "AuditEvent"("result", "at");

-- CreateIndex
CREATE INDEX "Migration_createdAt_idx" ON "Migration"("createdAt");

-- CreateIndex
CREATE INDEX "Migration_state_createdAt_idx" ON "Migration"("state", "createdAt");

-- CreateIndex
CREATE INDEX "Migration_vmName_createdAt_idx" ON "Migration"("vmName", "createdAt");

-- CreateIndex
CREATE INDEX "Migration_sourceAlias_createdAt_idx" ON "Migration"("sourceAlias", "createdAt");

-- CreateIndex
CREATE INDEX "Migration_destinationAlias_createdAt_idx" ON "Migration"("destinationAlias", "createdAt");

-- CreateIndex
CREATE INDEX "MigrationEvent_migrationId_id_idx" ON "MigrationEvent"("migrationId", "id");

