import type { Db } from '../db';
import { recordAudit } from '../audit/record';
import { UserError } from '../errors';
import { isAddressIn, parseCidrList } from './address';
import { ALLOW_LIST_SETTING, forgetCachedAllowList, readAllowList } from './allow-list';

export const ALLOW_LIST_MAX_TEXT = 10_000;

export async function networkSettings(options: { db: Db; clientAddress: string | null }) {
  const list = await readAllowList(options.db);
  return {
    allowList: list.cidrs.map((cidr) => cidr.text),
    source: list.source,
    yourAddress: options.clientAddress,
    isYourAddressAllowed: isAddressIn(options.clientAddress, list.cidrs),
  };
}

/**
 * Saves the admins' allow-list. A list that would not admit the admin's own address is refused unless they
 * confirmed it: the next request from them would get 403, and only a database edit would undo it.
 */
export async function saveAllowList(options: {
  db: Db;
  text: string;
  confirmLockout: boolean;
  actor: string;
  clientAddress: string | null;
}) {
  const parsed = parseCidrList(options.text);
  if (!parsed.ok) throw new UserError({ field: 'cidrs', message: parsed.error });
  if (parsed.cidrs.length === 0) {
    throw new UserError({ field: 'cidrs', message: 'An empty list would refuse every address; add at least one.' });
  }
  if (!options.confirmLockout && !isAddressIn(options.clientAddress, parsed.cidrs)) {
    throw new UserError({
      code: 'PRECONDITION_FAILED',
      field: 'confirmLockout',
      message: `Your address (${options.clientAddress ?? 'unknown'}) is not in this list, so saving it locks you out. Confirm to save anyway.`,
    });
  }
  const cidrs = parsed.cidrs.map((cidr) => cidr.text);
  await options.db.$transaction(async (tx) => {
    const before = await tx.setting.findUnique({ where: { key: ALLOW_LIST_SETTING } });
    await tx.setting.upsert({
      where: { key: ALLOW_LIST_SETTING },
      create: { key: ALLOW_LIST_SETTING, value: JSON.stringify(cidrs) },
      update: { value: JSON.stringify(cidrs) },
    });
    await recordAudit(tx, {
      actor: options.actor,
      clientAddress: options.clientAddress,
      action: 'settings.allow-list',
      details: {
        from: before ? (JSON.parse(before.value) as string[]) : null,
        to: cidrs,
        lockoutConfirmed: !isAddressIn(options.clientAddress, parsed.cidrs),
      },
    });
  });
  forgetCachedAllowList();
  return { allowList: cidrs };
}
