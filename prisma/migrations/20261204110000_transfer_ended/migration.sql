-- AlterTable: when virsh migrate ended with success (the job then only verifies, holding no host slot)
ALTER TABLE "Migration" ADD COLUMN "transferEndedAt" DATETIME;
