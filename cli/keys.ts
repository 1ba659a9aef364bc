import { createHash, sign as cryptoSign } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import ssh2, { type ParsedKey } from 'ssh2';
import { sshString } from '../server/signed-api/protocol';
import { CliError, EXIT } from './errors';

/**
 * Where the CLI's signatures come from: a key held by ssh-agent (the private key never enters this process) or
 * a key file. Either way the result is an SSH signature blob (`string format · string bytes`), which is what
 * SSHSIG wraps. Ferry verifies ed25519, ECDSA and RSA keys; RSA always signs with rsa-sha2-512, never SHA-1.
 */
export type Signer = {
  /** `SHA256:…` as `ssh-keygen -lf` prints it: the `x-ferry-key` header and the last line of the message. */
  fingerprint: string;
  /** The public key in SSH wire form (what SSHSIG embeds). */
  publicKey: Buffer;
  /** For messages: "ssh-ed25519 alice@laptop (ssh-agent)". */
  label: string;
  sign: (data: Buffer) => Promise<Buffer>;
};

const SUPPORTED_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'];

const ECDSA_HASH: Record<string, string> = {
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
};

export function fingerprintOf(publicKey: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKey).digest('base64').replace(/=+$/, '')}`;
}

/** The name in the signature blob: an RSA key signs as rsa-sha2-512, other keys under their own type. */
export function signatureFormat(keyType: string): string {
  return keyType === 'ssh-rsa' ? 'rsa-sha2-512' : keyType;
}

function wrapSignature(keyType: string, raw: Buffer): Buffer {
  return Buffer.concat([sshString(signatureFormat(keyType)), sshString(raw)]);
}

/** An unsigned big-endian integer as SSH `mpint` content: no leading zeros, one 0x00 if the top bit is set. */
function mpint(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

/** The raw signature (inside the blob) a private key makes, in SSH's encoding for its type (RFC 5656, 8332). */
export function signWithPrivateKey(key: ParsedKey, data: Buffer): Buffer {
  const pem = key.getPrivatePEM();
  if (key.type === 'ssh-ed25519') return cryptoSign(null, data, pem);
  if (key.type === 'ssh-rsa') return cryptoSign('sha512', data, pem);
  const hash = ECDSA_HASH[key.type];
  if (!hash) throw new CliError(EXIT.usage, `Ferry cannot sign with a ${key.type} key; use ed25519, ECDSA or RSA.`);
  // ieee-p1363 gives r‖s at fixed width; SSH wants them as two mpints.
  const rs = cryptoSign(hash, data, { key: pem, dsaEncoding: 'ieee-p1363' });
  const half = rs.length / 2;
  return Buffer.concat([sshString(mpint(rs.subarray(0, half))), sshString(mpint(rs.subarray(half)))]);
}

/** A signer over a key file (`--key` / `FERRY_KEY_FILE`); a passphrase comes from `FERRY_KEY_PASSPHRASE`. */
export function keyFileSigner(options: { path: string; passphrase?: string }): Signer {
  let text: Buffer;
  try {
    text = readFileSync(options.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(EXIT.usage, `Cannot read the key file ${options.path} (${code ?? 'error'}).`);
  }
  const parsed = ssh2.utils.parseKey(text, options.passphrase);
  if (parsed instanceof Error) {
    const isEncrypted = /passphrase/i.test(parsed.message);
    throw new CliError(
      EXIT.usage,
      isEncrypted
        ? `${options.path} is encrypted: add it to ssh-agent (ssh-add) or set FERRY_KEY_PASSPHRASE.`
        : `${options.path} is not an SSH private key Ferry can read: ${parsed.message}.`,
    );
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) throw new CliError(EXIT.usage, `${options.path} holds no private key.`);
  if (!SUPPORTED_TYPES.includes(key.type)) {
    throw new CliError(EXIT.usage, `Ferry cannot sign with a ${key.type} key; use ed25519, ECDSA or RSA.`);
  }
  const publicKey = key.getPublicSSH();
  return {
    fingerprint: fingerprintOf(publicKey),
    publicKey,
    label: `${key.type} ${key.comment || options.path} (key file)`,
    sign: async (data) => wrapSignature(key.type, signWithPrivateKey(key, data)),
  };
}

function agentIdentities(agent: ssh2.OpenSSHAgent): Promise<ParsedKey[]> {
  return new Promise((resolve, reject) => {
    // OpenSSHAgent parses every identity into a ParsedKey (ssh2/lib/agent.js); other agents might not.
    agent.getIdentities((error, keys) =>
      error ? reject(error) : resolve((keys ?? []).filter((key): key is ParsedKey => 'getPublicSSH' in key)),
    );
  });
}

function agentSign(agent: ssh2.OpenSSHAgent, key: ParsedKey, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // `hash` only matters for RSA: it sets the agent's SSH_AGENT_RSA_SHA2_512 flag.
    agent.sign(key, data, { hash: 'sha512' }, (error, signature) =>
      error || !signature ? reject(error ?? new Error('no signature')) : resolve(signature),
    );
  });
}

/** The public key blob a `FERRY_KEY` path names (`id_ed25519` or `id_ed25519.pub`), or null if unreadable. */
function publicKeyAt(path: string): Buffer | null {
  for (const candidate of path.endsWith('.pub') ? [path] : [`${path}.pub`, path]) {
    if (!existsSync(candidate)) continue;
    const parsed = ssh2.utils.parseKey(readFileSync(candidate));
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key && !(key instanceof Error)) return key.getPublicSSH();
  }
  return null;
}

/**
 * Picks the agent key `wanted` names: a fingerprint (`SHA256:…`), a comment, or a key file path. Without
 * `wanted`, the agent must hold exactly one usable key, so a request is never signed with a surprising key.
 */
export function chooseAgentKey(keys: ParsedKey[], wanted: string | undefined): ParsedKey {
  const usable = keys.filter((key) => SUPPORTED_TYPES.includes(key.type));
  const describe = (key: ParsedKey) => `  ${fingerprintOf(key.getPublicSSH())} ${key.comment} (${key.type})`;
  if (usable.length === 0) {
    throw new CliError(EXIT.usage, 'ssh-agent holds no ed25519, ECDSA or RSA key: add one with ssh-add.');
  }
  if (!wanted) {
    if (usable.length === 1 && usable[0]) return usable[0];
    throw new CliError(
      EXIT.usage,
      `ssh-agent holds ${usable.length} keys; set FERRY_KEY to the fingerprint, comment or file of one:\n${usable.map(describe).join('\n')}`,
    );
  }
  const byPath = wanted.includes('/') ? publicKeyAt(wanted) : null;
  const match = usable.find((key) => {
    const blob = key.getPublicSSH();
    return fingerprintOf(blob) === wanted || key.comment === wanted || (byPath !== null && blob.equals(byPath));
  });
  if (!match) {
    throw new CliError(
      EXIT.usage,
      `No key in ssh-agent matches FERRY_KEY=${wanted}; the agent holds:\n${usable.map(describe).join('\n')}`,
    );
  }
  return match;
}

export async function agentSigner(options: { socket: string; wanted?: string }): Promise<Signer> {
  const agent = new ssh2.OpenSSHAgent(options.socket);
  let keys: ParsedKey[];
  try {
    keys = await agentIdentities(agent);
  } catch {
    throw new CliError(EXIT.usage, `Cannot talk to ssh-agent at SSH_AUTH_SOCK=${options.socket}.`);
  }
  const key = chooseAgentKey(keys, options.wanted);
  const publicKey = key.getPublicSSH();
  return {
    fingerprint: fingerprintOf(publicKey),
    publicKey,
    label: `${key.type} ${key.comment} (ssh-agent)`,
    sign: async (data) => {
      try {
        return wrapSignature(key.type, await agentSign(agent, key, data));
      } catch {
        throw new CliError(EXIT.failed, `ssh-agent refused to sign with ${fingerprintOf(publicKey)}.`);
      }
    },
  };
}

/**
 * The signer the environment asks for: `--key`/`FERRY_KEY_FILE` wins (explicit), else ssh-agent
 * (`SSH_AUTH_SOCK`, `FERRY_KEY` to choose among its keys).
 */
export async function signerFromEnvironment(options: {
  keyFile: string | undefined;
  env: Record<string, string | undefined>;
}): Promise<Signer> {
  const keyFile = options.keyFile ?? options.env.FERRY_KEY_FILE;
  if (keyFile) return keyFileSigner({ path: keyFile, passphrase: options.env.FERRY_KEY_PASSPHRASE });
  const socket = options.env.SSH_AUTH_SOCK;
  if (!socket) {
    throw new CliError(
      EXIT.usage,
      'No key to sign with: start ssh-agent and ssh-add your key (SSH_AUTH_SOCK), or pass --key <file>.',
    );
  }
  return agentSigner({ socket, wanted: options.env.FERRY_KEY || undefined });
}
