/**
 * npm run audit:verify [-- --anchor <id>:<hash>] [-- --anchors <log file>]…
 *
 * Walks the whole audit hash chain of DATABASE_URL and reports the first row that does not check out.
 * Exit code 0: intact; 1: broken (or an anchor does not match); 2: could not run.
 *
 * --anchors reads a log Ferry wrote (JSON lines; other lines are skipped) and checks the database against every
 * audit anchor in it (server/audit/anchors.ts): that catches a cut tail and a consistently re-hashed chain, which
 * the chain walk alone cannot. It may be given more than once (rotated logs).
 *
 * The chain proves rows were not edited or removed one by one; someone able to rewrite a row and every hash
 * after it is caught only by comparing with a hash kept elsewhere. The last line printed is such an anchor:
 * store it (a ticket, a log shipper) and pass it back with --anchor later.
 */
import { readFileSync } from 'node:fs';
import { createPrismaClient } from '../server/db';
import { parseAnchorLog, verifyAnchors, type AuditAnchor } from '../server/audit/anchors';
import { verifyAuditChain } from '../server/audit/verify';

function readAnchorLogs(argv: string[]): { files: number; anchors: AuditAnchor[] } {
  const anchors: AuditAnchor[] = [];
  let files = 0;
  argv.forEach((arg, index) => {
    if (arg !== '--anchors') return;
    const file = argv[index + 1];
    if (!file || file.startsWith('--')) throw new Error('--anchors takes the path of a log file Ferry wrote.');
    anchors.push(...parseAnchorLog(readFileSync(file, 'utf8')));
    files++;
  });
  return { files, anchors };
}

function parseAnchor(argv: string[]): { id: number; hash: string } | null {
  const index = argv.indexOf('--anchor');
  if (index === -1) return null;
  const match = /^(\d+):([0-9a-f]{64})$/.exec(argv[index + 1] ?? '');
  if (!match) throw new Error('--anchor takes <id>:<sha256 hex>, as printed by a previous run.');
  return { id: Number(match[1]), hash: match[2] ?? '' };
}

async function main(): Promise<number> {
  const anchor = parseAnchor(process.argv.slice(2));
  const logged = readAnchorLogs(process.argv.slice(2));
  if (logged.files > 0 && logged.anchors.length === 0) {
    console.error('No audit anchors found in the given log: nothing to check the database against.');
    return 2;
  }
  const db = createPrismaClient();
  try {
    const report = await verifyAuditChain(db);
    const seconds = (report.durationMs / 1000).toFixed(1);
    if (!report.ok) {
      console.error(`Audit chain BROKEN after ${report.checked} good rows (${seconds} s).`);
      console.error(`First broken row: ${report.firstBreak?.id} (${report.firstBreak?.reason})`);
      console.error(report.firstBreak?.message);
      return 1;
    }
    // A cut or consistently re-hashed chain walks clean above; only the anchors shipped elsewhere can tell.
    if (logged.anchors.length > 0) {
      const anchored = await verifyAnchors(db, logged.anchors);
      if (anchored.firstFailure) {
        console.error(`Audit log does NOT match the anchors from the log (${anchored.checked} anchors).`);
        console.error(
          `First row that no longer matches: ${anchored.firstFailure.id} (${anchored.firstFailure.reason})`,
        );
        console.error(anchored.firstFailure.message);
        return 1;
      }
      console.log(`All ${anchored.checked} anchors from the log match.`);
    }
    if (anchor) {
      const row = await db.auditEvent.findUnique({ where: { id: anchor.id }, select: { hash: true } });
      if (row?.hash !== anchor.hash) {
        console.error(
          `Anchor mismatch: row ${anchor.id} ${row ? `has hash ${row.hash}` : 'is missing'}, the anchor says ${anchor.hash}.`,
        );
        console.error('The chain is consistent but was rewritten from that row on.');
        return 1;
      }
      console.log(`Anchor ${anchor.id} matches.`);
    }
    console.log(
      `Audit chain intact: ${report.checked} rows (ids ${report.firstId ?? '-'}–${report.lastId ?? '-'}) checked in ${seconds} s.`,
    );
    if (report.lastId !== null) {
      const last = await db.auditEvent.findUniqueOrThrow({ where: { id: report.lastId }, select: { hash: true } });
      console.log(`anchor ${report.lastId}:${last.hash}`);
    }
    return 0;
  } finally {
    await db.$disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`audit:verify could not run: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
