import { isUuid, type ListedDomain } from './parsers/list';

/**
 * How Ferry names a VM to virsh. PURE.
 *
 * virsh resolves a bare domain argument (also the value of `--domain`) as an ID first, then a UUID, then a name
 * (vshLookupDomainBy, confirmed with virsh 9.0): a VM named `1` resolves to whatever runs with ID 1, and a VM named
 * like another VM's UUID resolves to that other VM. So every domain command carries the UUID from the inventory;
 * names are for people. A `DomainUuid` can only be made by `toDomainUuid`, so an argv builder that takes one
 * cannot be handed a name by mistake.
 */
export type DomainUuid = string & { readonly __brand: 'DomainUuid' };

/** A VM as Ferry acts on it: the UUID goes into argv, the name into what people read. */
export type DomainRef = { name: string; uuid: DomainUuid };

export function toDomainUuid(text: string): DomainUuid {
  const lower = text.toLowerCase();
  if (!isUuid(lower)) throw new Error(`not a domain UUID: ${JSON.stringify(text)}`);
  return lower as DomainUuid;
}

export type DomainMatch =
  { ok: true; domain: DomainRef } | { ok: false; reason: 'missing' | 'mismatch'; message: string };

/**
 * Finds the VM a request means in a host's `list --all --uuid --name`: by UUID when the request has one (and then
 * the name must agree, or the VM was renamed or replaced since the page was drawn), else by exact name.
 */
export function matchDomain(
  listed: readonly ListedDomain[],
  wanted: { name: string; uuid?: string | null },
  where: string,
): DomainMatch {
  if (wanted.uuid) {
    const uuid = wanted.uuid.toLowerCase();
    const found = listed.find((domain) => domain.uuid === uuid);
    if (!found) return { ok: false, reason: 'missing', message: `No VM with UUID ${uuid} on ${where}.` };
    if (found.name !== wanted.name)
      return {
        ok: false,
        reason: 'mismatch',
        message: `On ${where} the VM with UUID ${uuid} is named "${found.name}", not "${wanted.name}": refresh the page and try again.`,
      };
    return { ok: true, domain: { name: found.name, uuid: toDomainUuid(found.uuid) } };
  }
  const found = listed.find((domain) => domain.name === wanted.name);
  if (!found) return { ok: false, reason: 'missing', message: `No domain named "${wanted.name}" on ${where}.` };
  return { ok: true, domain: { name: found.name, uuid: toDomainUuid(found.uuid) } };
}
