import type { Host, Prisma } from '@prisma/client';
import { z } from 'zod';
import type { Db } from '../db';
import { recordAudit, type AuditContext } from '../audit/record';
import { UserError } from '../errors';
import { EXECUTOR_KINDS } from '../hypervisor/executor';
import {
  displayLibvirtUri,
  formatLibvirtUri,
  isAliasName,
  isSshTransport,
  parseLibvirtUri,
  type LibvirtUri,
} from '../libvirt/uri';
import { parseLibvirtConf } from '../libvirt/aliases';
import { ACTIVE_STATES } from '../migrations/types';
import { plural } from '../plural';
import { assertUriAllowed } from './uri-policy';
import { describeUnsafeText } from '../text-safety';

/** Host fields that may leave the server. `uri` is absent on purpose: it can name key files. */
export const PUBLIC_HOST_SELECT = {
  id: true,
  alias: true,
  displayUri: true,
  displayName: true,
  executorKind: true,
  pinnedFingerprint: true,
  tlsCapable: true,
  migrationAddress: true,
  hostUuid: true,
  maxOutgoingMigrations: true,
  maxIncomingMigrations: true,
  bandwidthCapMiBps: true,
  inMaintenance: true,
  maintenanceSince: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.HostSelect;

export type PublicHost = Prisma.HostGetPayload<{ select: typeof PUBLIC_HOST_SELECT }>;

const ALIAS_MAX = 64;

export const hostFormSchema = z.object({
  alias: z
    .string()
    .trim()
    .min(1, 'Give the host a short alias, e.g. hv1.')
    .max(ALIAS_MAX, `An alias is at most ${ALIAS_MAX} characters.`)
    .refine(isAliasName, 'An alias may contain only letters, digits, "_" and "-" (libvirt\'s alias rule).'),
  /** A libvirt URI, or the name of an alias imported from libvirt.conf. */
  reference: z
    .string()
    .trim()
    .min(1, 'Enter a libvirt URI (e.g. qemu+ssh://root@hv1/system) or an imported alias.')
    .max(2048),
  displayName: z
    .string()
    .trim()
    .max(100, 'A display name is at most 100 characters.')
    .superRefine((value, ctx) => {
      const problem = describeUnsafeText(value, 'The display name');
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  executorKind: z.enum(EXECUTOR_KINDS).default('local'),
  tlsCapable: z.boolean().default(false),
  migrationAddress: z
    .string()
    .trim()
    .max(255)
    .refine(
      (value) =>
        value === '' || /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9a-fA-F:]+)$/.test(value),
      'The migration address must be a hostname or an IP address.',
    )
    .optional(),
  /** The host key fingerprint the admin confirmed after seeing it (ssh executor). */
  confirmedFingerprint: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'A fingerprint looks like SHA256: followed by 43 base64 characters.')
    .optional(),
});

export type HostFormInput = z.input<typeof hostFormSchema>;
type HostForm = z.output<typeof hostFormSchema>;

/**
 * What the edit form sends to keep the stored URI. The stored URI itself never reaches the browser (it may name
 * key files), so the form cannot send it back: it says "unchanged" and the server keeps its own copy.
 */
export const UNCHANGED_REFERENCE = { unchanged: true } as const;

export const hostUpdateSchema = hostFormSchema.extend({
  reference: z.union([z.object({ unchanged: z.literal(true) }).strict(), hostFormSchema.shape.reference]),
});

export type HostUpdateInput = z.input<typeof hostUpdateSchema>;

export type ResolvedReference = {
  uri: LibvirtUri;
  uriText: string;
  viaAlias: string | null;
  /** Unsafe URI features the operator enabled in server configuration that this URI uses. */
  warnings: string[];
};

/**
 * libvirt's rule: a reference made only of alias characters is an alias name and is looked up; anything else
 * is a URI. An alias that is not imported is an error, never a guess.
 */
export async function resolveReference(
  db: Db | Prisma.TransactionClient,
  reference: string,
): Promise<ResolvedReference> {
  const trimmed = reference.trim();
  if (isAliasName(trimmed)) {
    const alias = await db.uriAlias.findUnique({ where: { name: trimmed } });
    if (!alias) {
      throw new UserError({
        field: 'reference',
        message: `"${trimmed}" looks like an alias name, but no such alias is imported. Import your libvirt.conf or enter a full URI.`,
      });
    }
    const parsed = parseLibvirtUri(alias.uri);
    if (!parsed.ok)
      throw new UserError({
        field: 'reference',
        message: `Alias "${trimmed}" points to an invalid URI: ${parsed.error}`,
      });
    const warnings = assertUriAllowed(parsed.uri);
    return { uri: parsed.uri, uriText: formatLibvirtUri(parsed.uri), viaAlias: trimmed, warnings };
  }
  const parsed = parseLibvirtUri(trimmed);
  if (!parsed.ok) throw new UserError({ field: 'reference', message: parsed.error });
  const warnings = assertUriAllowed(parsed.uri);
  return { uri: parsed.uri, uriText: formatLibvirtUri(parsed.uri), viaAlias: null, warnings };
}

function checkExecutorKind(form: Omit<HostForm, 'reference'>, uri: LibvirtUri) {
  if (form.executorKind !== 'ssh') return;
  if (!uri.isRemote || !isSshTransport(uri.transport)) {
    throw new UserError({
      field: 'executorKind',
      message: 'The ssh executor needs a qemu+ssh:// (or libssh/libssh2) URI with a host name.',
    });
  }
  if (!form.confirmedFingerprint) {
    throw new UserError({
      field: 'confirmedFingerprint',
      message: 'Check the host key first: Ferry pins the fingerprint you confirm and refuses any other key.',
    });
  }
}

function hostData(form: Omit<HostForm, 'reference'>, resolved: ResolvedReference) {
  return {
    alias: form.alias,
    uri: resolved.uriText,
    displayUri: displayLibvirtUri(resolved.uri),
    displayName: form.displayName || form.alias,
    executorKind: form.executorKind,
    tlsCapable: form.tlsCapable,
    migrationAddress: form.migrationAddress || null,
    pinnedFingerprint: form.executorKind === 'ssh' ? (form.confirmedFingerprint ?? null) : null,
  };
}

export async function addHost(options: { db: Db; input: HostFormInput; audit: AuditContext }): Promise<PublicHost> {
  const form = hostFormSchema.parse(options.input);
  return options.db.$transaction(async (tx) => {
    const resolved = await resolveReference(tx, form.reference);
    checkExecutorKind(form, resolved.uri);
    const clash = await tx.host.findUnique({ where: { alias: form.alias }, select: { id: true } });
    if (clash)
      throw new UserError({
        code: 'CONFLICT',
        field: 'alias',
        message: `A host with alias "${form.alias}" already exists.`,
      });
    const host = await tx.host.create({ data: hostData(form, resolved), select: PUBLIC_HOST_SELECT });
    await recordAudit(tx, {
      ...options.audit,
      action: 'host.add',
      hostAlias: host.alias,
      details: {
        displayUri: host.displayUri,
        executorKind: host.executorKind,
        viaAlias: resolved.viaAlias,
        pinnedFingerprint: host.pinnedFingerprint,
      },
    });
    return host;
  });
}

export async function updateHost(options: {
  db: Db;
  id: string;
  input: HostUpdateInput;
  audit: AuditContext;
}): Promise<PublicHost> {
  const form = hostUpdateSchema.parse(options.input);
  return options.db.$transaction(async (tx) => {
    const before = await tx.host.findUnique({ where: { id: options.id } });
    if (!before) throw new UserError({ code: 'NOT_FOUND', message: 'That host no longer exists.' });
    const resolved =
      typeof form.reference === 'string' ? await resolveReference(tx, form.reference) : storedReference(before);
    checkExecutorKind(form, resolved.uri);
    if (form.alias !== before.alias) {
      const clash = await tx.host.findUnique({ where: { alias: form.alias }, select: { id: true } });
      if (clash)
        throw new UserError({
          code: 'CONFLICT',
          field: 'alias',
          message: `A host with alias "${form.alias}" already exists.`,
        });
    }
    const data = hostData(form, resolved);
    // The libvirt host UUID belongs to the machine behind the URI; a new URI must be learned again.
    const hostUuid = data.uri === before.uri ? before.hostUuid : null;
    const host = await tx.host.update({
      where: { id: options.id },
      data: { ...data, hostUuid },
      select: PUBLIC_HOST_SELECT,
    });
    await recordAudit(tx, {
      ...options.audit,
      action: 'host.edit',
      hostAlias: host.alias,
      details: { changes: diffHost(before, host) },
    });
    return host;
  });
}

/** The host's own stored URI, kept as it is (it was formatted when it was saved). */
function storedReference(host: Host): ResolvedReference {
  const parsed = parseLibvirtUri(host.uri);
  if (!parsed.ok) {
    throw new UserError({
      field: 'reference',
      message: 'The stored URI no longer parses; enter the URI again to save this host.',
    });
  }
  // Kept as stored, but still judged by today's policy: a host whose URI is now refused must be entered again.
  const warnings = assertUriAllowed(parsed.uri);
  return { uri: parsed.uri, uriText: host.uri, viaAlias: null, warnings };
}

function diffHost(before: Host, after: PublicHost) {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of [
    'alias',
    'displayUri',
    'displayName',
    'executorKind',
    'tlsCapable',
    'migrationAddress',
    'pinnedFingerprint',
  ] as const) {
    if (before[key] !== after[key]) changes[key] = { from: before[key], to: after[key] };
  }
  return changes;
}

export async function removeHost(options: { db: Db; id: string; audit: AuditContext }) {
  return options.db.$transaction(async (tx) => {
    const host = await tx.host.findUnique({ where: { id: options.id } });
    if (!host) throw new UserError({ code: 'NOT_FOUND', message: 'That host no longer exists.' });
    const active = await tx.migration.count({
      where: {
        OR: [{ sourceHostId: host.id }, { destinationHostId: host.id }],
        state: { in: [...ACTIVE_STATES] },
      },
    });
    if (active > 0) {
      throw new UserError({
        code: 'PRECONDITION_FAILED',
        message: `Host "${host.alias}" has ${plural(active, 'migration')} in progress; wait for ${active === 1 ? 'it' : 'them'} or cancel ${active === 1 ? 'it' : 'them'} first.`,
      });
    }
    await tx.host.delete({ where: { id: host.id } });
    await recordAudit(tx, {
      ...options.audit,
      action: 'host.remove',
      hostAlias: host.alias,
      details: { displayUri: host.displayUri },
    });
    return { id: host.id, alias: host.alias };
  });
}

export async function importAliases(options: { db: Db; text: string; audit: AuditContext }) {
  const parsed = parseLibvirtConf(options.text);
  if (parsed.aliases.length === 0 && parsed.uriDefault === undefined) {
    const first = parsed.errors[0];
    throw new UserError({
      field: 'text',
      message: first
        ? `Line ${first.line}: ${first.message}`
        : 'No uri_aliases or uri_default found in the pasted text.',
    });
  }
  return options.db.$transaction(async (tx) => {
    for (const alias of parsed.aliases) {
      await tx.uriAlias.upsert({
        where: { name: alias.name },
        create: { name: alias.name, uri: alias.uri },
        update: { uri: alias.uri },
      });
    }
    if (parsed.uriDefault !== undefined) {
      await tx.setting.upsert({
        where: { key: 'uri_default' },
        create: { key: 'uri_default', value: parsed.uriDefault },
        update: { value: parsed.uriDefault },
      });
    }
    await recordAudit(tx, {
      ...options.audit,
      action: 'aliases.import',
      details: {
        imported: parsed.aliases.map((alias) => alias.name),
        uriDefault: parsed.uriDefault ?? null,
        errors: parsed.errors,
      },
    });
    return {
      imported: parsed.aliases.map((a) => a.name),
      uriDefault: parsed.uriDefault ?? null,
      errors: parsed.errors,
      warnings: parsed.warnings,
    };
  });
}
