import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Key types Ferry signs with, as `ssh-keygen -t … -b …` makes them. */
export const KEY_SPECS = [
  { name: 'ed25519', args: ['-t', 'ed25519'] },
  { name: 'ecdsa-256', args: ['-t', 'ecdsa', '-b', '256'] },
  { name: 'ecdsa-384', args: ['-t', 'ecdsa', '-b', '384'] },
  { name: 'ecdsa-521', args: ['-t', 'ecdsa', '-b', '521'] },
  { name: 'rsa', args: ['-t', 'rsa', '-b', '2048'] },
] as const;

export function makeKey(options: { dir: string; name: string; args: readonly string[]; passphrase?: string }): string {
  const file = path.join(options.dir, options.name);
  execFileSync('ssh-keygen', ['-q', ...options.args, '-N', options.passphrase ?? '', '-C', options.name, '-f', file]);
  return file;
}

/**
 * A real ssh-agent on its own socket (`ssh-agent -D -a <sock>`, so it stays our child and dies by its pid),
 * for tests that sign through the agent protocol the way a user's agent does.
 */
export async function startSshAgent(): Promise<{
  socket: string;
  dir: string;
  add: (keyFile: string) => void;
  stop: () => Promise<void>;
}> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-agent-'));
  const socket = path.join(dir, 'agent.sock');
  const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  if (!existsSync(socket)) {
    agent.kill();
    throw new Error('ssh-agent did not create its socket');
  }
  return {
    socket,
    dir,
    add: (keyFile) =>
      execFileSync('ssh-add', ['-q', keyFile], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'pipe' }),
    stop: async () => {
      if (agent.exitCode === null) {
        const exited = new Promise((resolve) => agent.once('exit', resolve));
        agent.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
