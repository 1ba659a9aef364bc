-- AlterTable: whether the VM of a power action was transient (libvirt removes such a VM when it stops)
ALTER TABLE "PowerAction" ADD COLUMN "transient" BOOLEAN NOT NULL DEFAULT false;
