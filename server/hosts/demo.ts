import type { Db } from '../db';
import { recordAudit } from '../audit/record';
import { displayLibvirtUri, formatLibvirtUri, parseLibvirtUri } from '../libvirt/uri';

const DEMO_SEEDED_KEY = 'demo_seeded';

/**
 * On first start, registers the libvirt test driver as host `demo` so a fresh Ferry shows VM cards at once.
 * Runs once per database: an admin who removes `demo` does not get it back on the next start.
 */
export async function ensureDemoHost(options: { db: Db; uri: string }): Promise<'created' | 'skipped'> {
  if (!options.uri) return 'skipped';
  const parsed = parseLibvirtUri(options.uri);
  if (!parsed.ok) throw new Error(`FERRY_DEMO_URI is not a valid libvirt URI: ${parsed.error}`);
  return options.db.$transaction(async (tx) => {
    const seeded = await tx.setting.findUnique({ where: { key: DEMO_SEEDED_KEY } });
    if (seeded) return 'skipped';
    await tx.setting.create({ data: { key: DEMO_SEEDED_KEY, value: new Date().toISOString() } });
    if (await tx.host.findUnique({ where: { alias: 'demo' } })) return 'skipped';
    const host = await tx.host.create({
      data: {
        alias: 'demo',
        uri: formatLibvirtUri(parsed.uri),
        displayUri: displayLibvirtUri(parsed.uri),
        displayName: 'Demo (libvirt test driver)',
        executorKind: 'local',
      },
    });
    await recordAudit(tx, {
      actor: 'system',
      action: 'host.add',
      hostAlias: host.alias,
      details: { displayUri: host.displayUri, reason: 'first start' },
    });
    return 'created';
  });
}
