-- CreateTable
CREATE TABLE "VolumeRecord" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hostId" TEXT NOT NULL,
    "hostAlias" TEXT NOT NULL,
    "pool" TEXT,
    "name" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "capacityBytes" BIGINT,
    "role" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "reason" TEXT,
    "migrationId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    "removedAt" DATETIME,
    "removedHow" TEXT,
    "removedBy" TEXT
);

-- CreateIndex
CREATE INDEX "VolumeRecord_hostId_status_idx" ON "VolumeRecord"("hostId", "status");
CREATE INDEX "VolumeRecord_status_migrationId_idx" ON "VolumeRecord"("status", "migrationId");
CREATE INDEX "VolumeRecord_migrationId_idx" ON "VolumeRecord"("migrationId");
