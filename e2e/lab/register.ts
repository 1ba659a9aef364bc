/**
 * Registers the lab's hosts (hv1, hv2) in Ferry's database, each with its audit row in the same
 * transaction. Hosts whose alias already exists are left alone, so running it twice is harmless.
 *
 *   npx tsx --conditions=react-server e2e/lab/register.ts [path/to/hosts.json]
 *     (default: $FERRY_LAB_DIR or .lab, /hosts.json)
 *   DATABASE_URL=file:./data/ferry.db (default) picks the database.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPrismaClient } from '../../server/db';
import { recordAudit } from '../../server/audit/record';
import { displayLibvirtUri, parseLibvirtUri } from '../../server/libvirt/uri';

type LabHost = { alias: string; ip: string; uri: string; fingerprint: string; hostUuid: string };

const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const labDir = path.resolve(process.env.FERRY_LAB_DIR ?? path.join(repoDir, '.lab'));
const hostsFile = process.argv[2] ?? path.join(labDir, 'hosts.json');
const labHosts = JSON.parse(fs.readFileSync(hostsFile, 'utf8')) as LabHost[];

const db = createPrismaClient(process.env.DATABASE_URL);
try {
  for (const labHost of labHosts) {
    const parsed = parseLibvirtUri(labHost.uri);
    if (!parsed.ok) throw new Error(`${labHost.alias}: lab URI does not parse: ${parsed.error}`);
    const outcome = await db.$transaction(async (tx) => {
      const existing = await tx.host.findUnique({
        where: { alias: labHost.alias },
        select: { uri: true, pinnedFingerprint: true },
      });
      if (existing) {
        const isStale = existing.uri !== labHost.uri || existing.pinnedFingerprint !== labHost.fingerprint;
        return isStale ? 'stale' : 'exists';
      }
      const host = await tx.host.create({
        data: {
          alias: labHost.alias,
          uri: labHost.uri,
          displayUri: displayLibvirtUri(parsed.uri),
          displayName: `Lab ${labHost.alias}`,
          executorKind: 'local',
          pinnedFingerprint: labHost.fingerprint,
          migrationAddress: labHost.ip,
          hostUuid: labHost.hostUuid,
        },
      });
      await recordAudit(tx, {
        actor: 'lab',
        action: 'host.add',
        hostAlias: host.alias,
        details: {
          displayUri: host.displayUri,
          executorKind: host.executorKind,
          pinnedFingerprint: host.pinnedFingerprint,
          migrationAddress: host.migrationAddress,
          hostUuid: host.hostUuid,
          source: 'e2e/lab/register.ts',
        },
      });
      return 'added';
    });
    switch (outcome) {
      case 'added':
        console.log(`${labHost.alias}: registered`);
        break;
      case 'exists':
        console.log(`${labHost.alias}: already registered, left alone`);
        break;
      case 'stale':
        console.warn(
          `${labHost.alias}: already registered with another URI or fingerprint (the lab's keys changed?); left alone, remove it in Ferry to register the lab's`,
        );
        break;
    }
  }
} finally {
  await db.$disconnect();
}
