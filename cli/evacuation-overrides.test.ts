import { describe, expect, it } from 'vitest';
import { CliError, EXIT } from './errors';
import { buildOverrides, findPlanVm, parseMove, type PlanVm } from './evacuation-overrides';

const HV1 = { id: 'h1', alias: 'hv1' };
const HV2 = { id: 'h2', alias: 'hv2' };
const HV3 = { id: 'h3', alias: 'hv3' };
const HOSTS = [HV1, HV2, HV3];

const ITEMS: PlanVm[] = [
  { vmName: 'vm1', vmUuid: 'u-1', sourceAlias: 'hv1' },
  { vmName: 'vm2', vmUuid: 'u-2', sourceAlias: 'hv1' },
  { vmName: 'vm-off', vmUuid: 'u-off', sourceAlias: 'hv1' },
];

/** The CliError a call throws, so a test can check its exit code and its sentence together. */
function failure(call: () => unknown): CliError {
  try {
    call();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

const build = (options: { exclude?: string[]; moves?: { vm: string; host: string }[]; items?: PlanVm[] }) =>
  buildOverrides({
    items: options.items ?? ITEMS,
    hosts: HOSTS,
    source: HV1,
    exclude: options.exclude ?? [],
    moves: options.moves ?? [],
  });

describe('parseMove (--to <vm>=<host>)', () => {
  it('splits at the last "=": a VM name may contain one, an alias cannot', () => {
    expect(parseMove('vm1=hv2')).toEqual({ vm: 'vm1', host: 'hv2' });
    expect(parseMove('web=prod=hv2')).toEqual({ vm: 'web=prod', host: 'hv2' });
  });

  it('refuses a value without a VM or a host as a usage error', () => {
    for (const text of ['vm1', '=hv2', 'vm1=', '=']) {
      const error = failure(() => parseMove(text));
      expect(error.exitCode).toBe(EXIT.usage);
      expect(error.message).toBe(`--to takes <vm>=<host>, e.g. --to vm1=hv2; "${text}" is not that.`);
    }
  });
});

describe('buildOverrides', () => {
  it('turns --exclude into a null destination and --to into the host id, by UUID', () => {
    expect(build({ exclude: ['vm-off'], moves: [{ vm: 'vm1', host: 'hv3' }] })).toEqual([
      { vmUuid: 'u-off', destinationHostId: null },
      { vmUuid: 'u-1', destinationHostId: 'h3' },
    ]);
  });

  it('accepts a UUID where a name is expected, and the same --exclude twice once', () => {
    expect(build({ exclude: ['u-2', 'vm2'] })).toEqual([{ vmUuid: 'u-2', destinationHostId: null }]);
  });

  it('names the plan’s VMs when a name is not on it', () => {
    const error = failure(() => build({ exclude: ['vm9'] }));
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toBe('--exclude vm9: no such VM on the plan (its VMs: vm1, vm2, vm-off).');
  });

  it('points at --plan instead of listing a big host’s VMs', () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ vmName: `g${i}`, vmUuid: `u${i}`, sourceAlias: 'hv1' }));
    expect(failure(() => build({ items: many, moves: [{ vm: 'vm1', host: 'hv2' }] })).message).toBe(
      '--to vm1: no such VM on the plan (its VMs: 11 VMs; --plan lists them).',
    );
  });

  it('refuses an unknown host, listing the registered ones', () => {
    const error = failure(() => build({ moves: [{ vm: 'vm1', host: 'hv9' }] }));
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toBe('--to vm1=hv9: no host "hv9" is registered (registered: hv1, hv2, hv3).');
  });

  it('refuses the drained host as a destination', () => {
    expect(failure(() => build({ moves: [{ vm: 'vm1', host: 'hv1' }] })).message).toBe(
      '--to vm1=hv1: that is the host being drained; name another one.',
    );
  });

  it('refuses one VM given twice, whichever flags', () => {
    expect(failure(() => build({ exclude: ['vm1'], moves: [{ vm: 'vm1', host: 'hv2' }] })).message).toBe(
      '--to vm1=hv2: vm1 is already given by --exclude.',
    );
    expect(
      failure(() =>
        build({
          moves: [
            { vm: 'vm1', host: 'hv2' },
            { vm: 'vm1', host: 'hv3' },
          ],
        }),
      ).message,
    ).toBe('--to vm1=hv3: vm1 is already given by --to vm1=hv2.');
  });

  it('escapes control characters of a typed name in the message', () => {
    expect(failure(() => build({ exclude: ['evil\u001b[2J'] })).message).toContain('--exclude evil\\x1b[2J:');
  });
});

describe('findPlanVm on a bring-back (VMs from several hosts)', () => {
  const back: PlanVm[] = [
    { vmName: 'web', vmUuid: 'u-a', sourceAlias: 'hv2' },
    { vmName: 'web', vmUuid: 'u-b', sourceAlias: 'hv3' },
  ];

  it('asks for the UUID when two hosts hold a VM of that name', () => {
    const error = failure(() => findPlanVm(back, 'web', '--exclude'));
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toBe('--exclude web: VMs of that name are on hv2 and hv3; give its UUID.');
    expect(findPlanVm(back, 'u-b', '--exclude')).toEqual(back[1]);
  });
});
