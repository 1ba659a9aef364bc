import 'server-only';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * Ties a child process to Ferry's life: started through util-linux `setpriv --pdeathsig KILL`, the kernel kills
 * it the moment the Ferry process dies, also by kill -9, when no exit handler of Ferry's can run. The child runs
 * in its own process group (for the kill of the group on a timeout), so it would otherwise be re-parented to init
 * and live on. setpriv execs the command, so the PID Ferry holds is the command's own.
 * Without setpriv (not Linux, or util-linux missing) the command runs as it is.
 */
const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv'];

let setpriv: string | null | undefined;

function findSetpriv(): string | null {
  if (setpriv === undefined) setpriv = SETPRIV_CANDIDATES.find(isExecutable) ?? null;
  return setpriv;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The executable's path as spawn would find it (PATH lookup), or null: setpriv would report a missing program as
 * its own exit status 127, so Ferry looks first and keeps the spawn error a missing virsh has always given.
 */
export function resolveExecutable(file: string): string | null {
  if (file.includes('/')) return isExecutable(file) ? file : null;
  const searchPath = process.env.PATH ?? '';
  const key = `${searchPath}\0${file}`;
  const known = resolved.get(key);
  if (known !== undefined) return known;
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, file);
    if (isExecutable(candidate)) {
      resolved.set(key, candidate);
      return candidate;
    }
  }
  return null;
}

/**
 * PATH lookups that found the program, per PATH and name: every virsh Ferry starts looked it up again, a few
 * access(2) calls each, on the event loop (bench live: a tenth of the fleet read's own JavaScript time). A miss is
 * not kept, so a virsh installed later is found.
 */
const resolved = new Map<string, string>();

/** `file argv…` wrapped so it dies with this process; unchanged when it cannot be (spawn reports a missing file). */
export function tiedToThisProcess(file: string, argv: readonly string[]): { file: string; argv: string[] } {
  const wrapper = findSetpriv();
  const resolved = wrapper === null ? null : resolveExecutable(file);
  if (wrapper === null || resolved === null) return { file, argv: [...argv] };
  return { file: wrapper, argv: ['--pdeathsig', 'KILL', '--', resolved, ...argv] };
}
