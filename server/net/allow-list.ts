import type { Db } from '../db';
import { env } from '../env';
import { parseCidrList, type Cidr } from './address';

/** The admins' list lives in the Setting table under this key, as JSON text of CIDR strings. */
export const ALLOW_LIST_SETTING = 'ip_allow_list';

/** How long a process trusts its copy; a save in this process invalidates at once, other replicas within this. */
const CACHE_MS = 2000;

export type AllowList = { cidrs: Cidr[]; source: 'settings' | 'configuration' };

function fromConfiguration(): AllowList {
  const parsed = parseCidrList(env.FERRY_ALLOWED_CIDRS);
  if (!parsed.ok) throw new Error(`FERRY_ALLOWED_CIDRS: ${parsed.error}`);
  return { cidrs: parsed.cidrs, source: 'configuration' };
}

export function configuredTrustedProxies(): Cidr[] {
  const parsed = parseCidrList(env.FERRY_TRUSTED_PROXIES);
  if (!parsed.ok) throw new Error(`FERRY_TRUSTED_PROXIES: ${parsed.error}`);
  return parsed.cidrs;
}

export async function readAllowList(db: Db): Promise<AllowList> {
  const row = await db.setting.findUnique({ where: { key: ALLOW_LIST_SETTING } });
  if (!row) return fromConfiguration();
  const parsed = parseCidrList(JSON.parse(row.value) as string[]);
  // A list that no longer parses is not silently widened: nobody gets in until it is fixed in the database.
  return { cidrs: parsed.ok ? parsed.cidrs : [], source: 'settings' };
}

type Cache = { list: AllowList; at: number } | null;
const globalCache = globalThis as unknown as { ferryAllowList?: Cache };

/** The list every request is checked against, read from the database at most every CACHE_MS. */
export async function currentAllowList(db: Db): Promise<AllowList> {
  const cached = globalCache.ferryAllowList;
  if (cached && performance.now() - cached.at < CACHE_MS) return cached.list;
  const list = await readAllowList(db);
  globalCache.ferryAllowList = { list, at: performance.now() };
  return list;
}

export function forgetCachedAllowList() {
  globalCache.ferryAllowList = null;
}
