import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { computeAuditHash } from '../server/audit/record';
import { applyMigrationFiles, openSqliteFile, toSqliteTimestamp, type SqliteFile } from '../server/audit/sqlite-file';

/**
 * Bench-only data: a fleet two years into using Ferry. Written straight through better-sqlite3 prepared
 * statements in large transactions (Prisma would take an hour for a million rows), in time order, with the
 * real hash chain so `verifyAuditChain` over it is meaningful, and through the real triggers (append-only,
 * chain link, search index) so they are exercised too.
 */

export const SEED_VERSION = 2;

export type SeedShape = {
  auditRows: number;
  migrations: number;
  hosts: number;
  vms: number;
  actors: number;
  days: number;
};

export const BENCH_SHAPE: SeedShape = {
  auditRows: 1_000_000,
  migrations: 100_000,
  hosts: 200,
  vms: 5_000,
  actors: 20,
  days: 730,
};

const DAY_MS = 86_400_000;

/** Deterministic, so two runs of the bench seed the same log. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function weighted<T>(random: Random, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [item, weight] of items) {
    roll -= weight;
    if (roll < 0) return item;
  }
  return (items.at(-1) as readonly [T, number])[0];
}

function logNormal(random: Random, median: number, sigma: number): number {
  // Box-Muller.
  const u = Math.max(random(), 1e-12);
  const v = random();
  return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
}

const ERROR_CAUSES = [
  ['timeout', 30, 'operation failed: migration job: job timed out after 600 s'],
  ['destination-unreachable', 18, 'unable to connect to server at hvX:49152: Connection refused'],
  [
    'cpu-incompatible',
    14,
    'the CPU is incompatible with host CPU: Host CPU does not provide required features: avx512f',
  ],
  ['storage-copy-failed', 12, 'operation failed: migration of disk vda failed: No space left on device'],
  ['insufficient-memory', 10, 'cannot allocate memory: destination has not enough free memory for the guest'],
  ['auth-failed', 6, 'authentication failed: Permission denied (publickey)'],
  ['domain-not-running', 5, 'Requested operation is not valid: domain is not running'],
  ['unknown', 5, 'internal error: qemu unexpectedly closed the monitor'],
] as const;

const REFUSAL_REASONS = [
  'Destination lacks CPU feature avx512f required by the guest',
  'Not enough free memory on destination: needs 16 GiB, 9 GiB free',
  'Storage pool default is not shared and no copy-storage option was given',
  'Host key mismatch: fingerprint differs from the pinned one',
  'The VM has a passthrough device (hostdev) and cannot move live',
  'A migration of this VM is already running',
  'Destination is the same host as the source (same libvirt host UUID)',
];

const CHECK_NAMES = ['connectivity', 'cpu', 'memory', 'storage', 'network', 'hostdev'];

type AuditInsert = {
  at: number;
  actor: string;
  clientAddress: string | null;
  action: string;
  result: string;
  hostAlias: string | null;
  vmName: string | null;
  migrationId: string | null;
  details: string;
};

export type SeedSummary = { auditRows: number; migrations: number; seconds: number; file: string };

function hostName(index: number): string {
  return `hv${String(index + 1).padStart(3, '0')}`;
}

function vmName(index: number): string {
  return `vm-${String(index + 1).padStart(4, '0')}`;
}

/** Weekdays carry more change than weekends; the log grows a little over two years as the fleet does. */
function dayWeight(dayStart: number, index: number, days: number): number {
  const weekday = new Date(dayStart).getUTCDay();
  const weekend = weekday === 0 || weekday === 6 ? 0.45 : 1;
  return weekend * (0.7 + (0.6 * index) / days);
}

/** Working hours (UTC 06–19) get most of the day's events. */
function timeOfDay(random: Random): number {
  const hour = random() < 0.8 ? 6 + random() * 13 : random() * 24;
  return Math.floor(hour * 3_600_000);
}

export function seedAuditBench(options: {
  file: string;
  shape?: SeedShape;
  end?: Date;
  log?: (line: string) => void;
}): SeedSummary {
  const shape = options.shape ?? BENCH_SHAPE;
  const log = options.log ?? (() => {});
  const started = performance.now();
  mkdirSync(path.dirname(options.file), { recursive: true });
  for (const suffix of ['', '-journal', '-wal', '-shm'])
    if (existsSync(options.file + suffix)) rmSync(options.file + suffix);

  const sqlite = openSqliteFile(options.file);
  applyMigrationFiles(sqlite);
  // Seed-time only (per connection, not stored): the bench measures reads with the app's settings.
  sqlite.pragma('synchronous = OFF');
  sqlite.pragma('cache_size = -200000');

  const random = mulberry32(20261126);
  const endDay = Math.floor((options.end ?? new Date()).getTime() / DAY_MS) * DAY_MS;
  const startDay = endDay - shape.days * DAY_MS;
  const hosts = Array.from({ length: shape.hosts }, (_, i) => hostName(i));
  const vms = Array.from({ length: shape.vms }, (_, i) => vmName(i));
  const vmHome = vms.map(() => Math.floor(random() * shape.hosts));
  const actors = Array.from({ length: shape.actors }, (_, i) =>
    i === 0 ? 'system' : i === 1 ? 'admin' : `ops-${String(i).padStart(2, '0')}`,
  );
  // The balancer ("system") does a third of all moves; people the rest, some much more than others.
  const actorWeights = actors.map((actor, i) => [actor, i === 0 ? 30 : 8 / i + 1] as const);
  const addressOf = (actor: string) =>
    actor === 'system' ? null : `10.20.${actors.indexOf(actor)}.${10 + (actors.indexOf(actor) % 7)}`;

  insertHosts(sqlite, hosts, startDay);

  const insertAudit = sqlite.prepare(
    `INSERT INTO "AuditEvent" ("at", "actor", "clientAddress", "action", "result", "hostAlias", "vmName", "migrationId", "details", "prevHash", "hash")
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertMigration = sqlite.prepare(
    `INSERT INTO "Migration" ("id", "vmName", "vmUuid", "sourceAlias", "sourceUri", "destinationAlias", "destinationUri", "options", "actor", "state",
       "percent", "createdAt", "startedAt", "endedAt", "durationMs", "memoryBytes", "diskBytes", "avgBandwidthBps", "peakBandwidthBps", "downtimeMs",
       "errorCode", "errorMessage", "checklist", "output")
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  const weights = Array.from({ length: shape.days }, (_, d) => dayWeight(startDay + d * DAY_MS, d, shape.days));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  let cumulativeWeight = 0;
  let prevHash = '';
  let auditWritten = 0;
  let auditProduced = 0;
  let migrationsWritten = 0;
  // Events that happen after the day they belong to (a migration ending past midnight) wait for their day,
  // so ids follow time the way recordAudit's `now()` makes them in production.
  let carried: AuditInsert[] = [];
  let migrationSerial = 0;
  const now = options.end?.getTime() ?? Date.now();

  const writeDay = sqlite.transaction((events: AuditInsert[], migrationRows: unknown[][]) => {
    for (const row of migrationRows) insertMigration.run(...row);
    events.sort((a, b) => a.at - b.at);
    for (const event of events) {
      const at = new Date(event.at);
      const hash = computeAuditHash({ ...event, at, prevHash });
      insertAudit.run(
        toSqliteTimestamp(at),
        event.actor,
        event.clientAddress,
        event.action,
        event.result,
        event.hostAlias,
        event.vmName,
        event.migrationId,
        event.details,
        prevHash,
        hash,
      );
      prevHash = hash;
    }
  });

  for (let d = 0; d < shape.days; d++) {
    const dayStart = startDay + d * DAY_MS;
    cumulativeWeight += weights[d] ?? 0;
    const isLastDay = d === shape.days - 1;
    const migrationTarget = isLastDay
      ? shape.migrations
      : Math.round((shape.migrations * cumulativeWeight) / totalWeight);
    const auditTarget = isLastDay ? shape.auditRows : Math.round((shape.auditRows * cumulativeWeight) / totalWeight);
    const events: AuditInsert[] = carried;
    const producedBefore = events.length;
    const migrationRows: unknown[][] = [];

    for (; migrationsWritten + migrationRows.length < migrationTarget;) {
      const vmIndex = Math.floor(random() * shape.vms);
      const vm = vms[vmIndex] as string;
      const sourceIndex = vmHome[vmIndex] ?? 0;
      const destinationIndex = (sourceIndex + 1 + Math.floor(random() * (shape.hosts - 1))) % shape.hosts;
      const source = hosts[sourceIndex] as string;
      const destination = hosts[destinationIndex] as string;
      const actor = weighted(random, actorWeights);
      const clientAddress = addressOf(actor);
      const id = `cmbench${(migrationSerial++).toString(36).padStart(8, '0')}${Math.floor(random() * 36 ** 6)
        .toString(36)
        .padStart(6, '0')}`;
      const copiesStorage = random() < 0.35;
      const memoryBytes = pick(random, [1, 2, 4, 8, 8, 16, 16, 32, 64]) * 2 ** 30;
      const diskBytes = copiesStorage ? Math.round((10 + random() * 190) * 2 ** 30) : null;
      const createdAt = dayStart + timeOfDay(random);
      const startedAt = createdAt + 2000 + Math.floor(random() * 8000);
      const durationMs = Math.round(Math.min(logNormal(random, copiesStorage ? 180_000 : 40_000, 0.9), 3 * 3_600_000));
      const outcome = weighted(random, [
        ['succeeded', 86],
        ['failed', 9],
        ['cancelled', 5],
      ] as const);
      const endedAt = startedAt + (outcome === 'succeeded' ? durationMs : Math.floor(durationMs * random()));
      const stillRunning = endedAt > now;
      const state = stillRunning ? 'running' : outcome;
      const cause =
        outcome === 'failed'
          ? weighted(
              random,
              ERROR_CAUSES.map((c) => [c, c[1]] as const),
            )
          : null;
      const avgBandwidth = Math.round(((memoryBytes + (diskBytes ?? 0)) / Math.max(durationMs, 1)) * 1000);
      const base = { actor, clientAddress, vmName: vm, migrationId: id };

      migrationRows.push([
        id,
        vm,
        null,
        source,
        `qemu+ssh://root@${source}/system`,
        destination,
        `qemu+ssh://root@${destination}/system`,
        JSON.stringify({
          live: true,
          persistent: true,
          undefineSource: true,
          copyStorage: copiesStorage ? 'all' : null,
          tls: false,
        }),
        actor,
        state,
        state === 'succeeded' ? 100 : stillRunning ? 50 : Math.floor(random() * 100),
        toSqliteTimestamp(new Date(createdAt)),
        toSqliteTimestamp(new Date(startedAt)),
        stillRunning ? null : toSqliteTimestamp(new Date(endedAt)),
        stillRunning ? null : endedAt - startedAt,
        memoryBytes,
        diskBytes,
        state === 'succeeded' ? avgBandwidth : null,
        state === 'succeeded' ? Math.round(avgBandwidth * 1.3) : null,
        state === 'succeeded' ? 20 + Math.floor(random() * 280) : null,
        cause ? cause[0] : null,
        cause ? cause[2].replace('hvX', destination) : null,
        JSON.stringify(CHECK_NAMES.map((name) => ({ name, ok: true }))),
        '',
      ]);

      events.push({
        ...base,
        at: createdAt,
        action: 'migration.preflight',
        result: 'ok',
        hostAlias: source,
        details: JSON.stringify({ source, destination, checks: CHECK_NAMES.map((name) => ({ name, ok: true })) }),
      });
      events.push({
        ...base,
        at: startedAt,
        action: 'migration.start',
        result: 'ok',
        hostAlias: source,
        details: JSON.stringify({ source, destination, copyStorage: copiesStorage ? 'all' : null, memoryBytes }),
      });
      if (copiesStorage) {
        events.push({
          ...base,
          at: startedAt + 500,
          action: 'volume.create',
          result: 'ok',
          hostAlias: destination,
          details: JSON.stringify({ pool: 'default', volume: `${vm}.qcow2`, capacityBytes: diskBytes }),
        });
      }
      if (!stillRunning) {
        if (outcome === 'cancelled') {
          events.push({
            ...base,
            at: endedAt - 1500,
            action: 'migration.cancel',
            result: 'ok',
            hostAlias: source,
            details: JSON.stringify({ reason: 'cancelled by operator' }),
          });
        }
        events.push({
          ...base,
          at: endedAt,
          action: `migration.${outcome}`,
          result: outcome === 'failed' ? 'failed' : 'ok',
          hostAlias: destination,
          details: JSON.stringify(
            cause
              ? { source, destination, errorCode: cause[0], message: cause[2].replace('hvX', destination) }
              : { source, destination, durationMs: endedAt - startedAt, downtimeMs: 20 + Math.floor(random() * 280) },
          ),
        });
        if (copiesStorage) {
          // The copy that is no longer needed: the source's after success, the destination's otherwise.
          const where = outcome === 'succeeded' ? source : destination;
          events.push({
            ...base,
            at: endedAt + 800,
            action: 'volume.delete',
            result: 'ok',
            hostAlias: where,
            details: JSON.stringify({ pool: 'default', volume: `${vm}.qcow2` }),
          });
        }
        if (outcome === 'succeeded') vmHome[vmIndex] = destinationIndex;
      }
    }

    // The rest of the day: preflights that did not lead to a move (the balancer checks often), refused
    // starts, and the occasional host change or alias import.
    auditProduced += events.length - producedBefore;
    while (auditProduced < auditTarget) {
      auditProduced++;
      const actor = weighted(random, actorWeights);
      const at = dayStart + timeOfDay(random);
      const roll = random();
      const host = pick(random, hosts);
      if (roll < 0.985) {
        const vmIndex = Math.floor(random() * shape.vms);
        const source = hosts[vmHome[vmIndex] ?? 0] as string;
        const destination = host === source ? (hosts[(hosts.indexOf(host) + 1) % hosts.length] as string) : host;
        const refused = random() < 0.3;
        const reason = refused ? pick(random, REFUSAL_REASONS) : null;
        events.push({
          at,
          actor,
          clientAddress: addressOf(actor),
          action: roll < 0.93 ? 'migration.preflight' : 'migration.start',
          result: refused ? 'refused' : 'ok',
          hostAlias: source,
          vmName: vms[vmIndex] as string,
          migrationId: null,
          details: JSON.stringify(
            reason
              ? { source, destination, reason }
              : { source, destination, checks: CHECK_NAMES.map((name) => ({ name, ok: true })), dryRun: true },
          ),
        });
      } else {
        const action = weighted(random, [
          ['host.edit', 60],
          ['host.add', 15],
          ['host.remove', 10],
          ['aliases.import', 15],
        ] as const);
        events.push({
          at,
          actor: actor === 'system' ? 'admin' : actor,
          clientAddress: addressOf(actor === 'system' ? 'admin' : actor),
          action,
          result: random() < 0.9 ? 'ok' : 'refused',
          hostAlias: action === 'aliases.import' ? null : host,
          vmName: null,
          migrationId: null,
          details: JSON.stringify(
            action === 'host.edit'
              ? { changes: { migrationAddress: { from: null, to: `10.30.0.${Math.floor(random() * 250)}` } } }
              : action === 'aliases.import'
                ? { imported: [host, pick(random, hosts)], uriDefault: null, errors: [] }
                : { displayUri: `qemu+ssh://root@${host}/system`, executorKind: 'ssh' },
          ),
        });
      }
    }

    const dayEnd = dayStart + DAY_MS;
    const today = isLastDay ? events : events.filter((event) => event.at < dayEnd);
    carried = isLastDay ? [] : events.filter((event) => event.at >= dayEnd);
    writeDay(today, migrationRows);
    auditWritten += today.length;
    migrationsWritten += migrationRows.length;
    if (d % 73 === 0 || isLastDay)
      log(
        `  seeded ${auditWritten.toLocaleString('en')} audit rows, ${migrationsWritten.toLocaleString('en')} migrations (${Math.round(((d + 1) / shape.days) * 100)} %)`,
      );
  }

  sqlite
    .prepare(`INSERT INTO "Setting" ("key", "value", "updatedAt") VALUES ('bench_seed', ?, ?)`)
    .run(
      JSON.stringify({ version: SEED_VERSION, ...shape, auditRows: auditWritten, migrations: migrationsWritten }),
      toSqliteTimestamp(new Date()),
    );
  sqlite.close();
  return {
    auditRows: auditWritten,
    migrations: migrationsWritten,
    seconds: (performance.now() - started) / 1000,
    file: options.file,
  };
}

function insertHosts(sqlite: SqliteFile, hosts: string[], at: number) {
  const insert = sqlite.prepare(
    `INSERT INTO "Host" ("id", "alias", "uri", "displayUri", "displayName", "executorKind", "createdAt", "updatedAt") VALUES (?, ?, ?, ?, ?, 'ssh', ?, ?)`,
  );
  const stamp = toSqliteTimestamp(new Date(at));
  sqlite.transaction(() => {
    for (const host of hosts)
      insert.run(
        `hostbench${host}`,
        host,
        `qemu+ssh://root@${host}/system`,
        `qemu+ssh://root@${host}/system`,
        host,
        stamp,
        stamp,
      );
  })();
}

/** The seed already in `file`, if it is complete and of this shape and version (seeding takes minutes). */
export function existingSeed(file: string, shape: SeedShape = BENCH_SHAPE): boolean {
  if (!existsSync(file)) return false;
  const sqlite = openSqliteFile(file, { readonly: true });
  try {
    const row = sqlite.prepare(`SELECT "value" FROM "Setting" WHERE "key" = 'bench_seed'`).get() as
      { value: string } | undefined;
    if (!row) return false;
    const seed = JSON.parse(row.value) as Partial<SeedShape> & { version?: number };
    return (
      seed.version === SEED_VERSION &&
      seed.auditRows === shape.auditRows &&
      seed.migrations === shape.migrations &&
      seed.days === shape.days
    );
  } catch {
    return false;
  } finally {
    sqlite.close();
  }
}
