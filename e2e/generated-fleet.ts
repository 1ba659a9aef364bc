import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { APIRequestContext } from '@playwright/test';
import { testHostUri, writeTestHost } from '../server/testing/test-host-xml';
import { API_HEADERS } from './auth';

/**
 * A made-up fleet for the fleet page's size tests: `hosts` libvirt test-driver files of `vmsPerHost` VMs each
 * (VMs `<alias>-vm000`…, mixed states, 1–3 disks), written under the server's FERRY_TEST_DRIVER_DIR and registered
 * through the API as a signed-in admin, as the Hosts page would.
 */
export type GeneratedHost = { alias: string; uri: string };

export async function writeGeneratedFleet(options: {
  dir: string;
  prefix: string;
  hosts: number;
  vmsPerHost: number;
}): Promise<GeneratedHost[]> {
  await mkdir(options.dir, { recursive: true });
  const digits = String(options.hosts - 1).length;
  const hosts: GeneratedHost[] = [];
  for (let index = 0; index < options.hosts; index++) {
    const alias = `${options.prefix}${String(index).padStart(digits, '0')}`;
    const file = await writeTestHost({
      dir: options.dir,
      hostName: alias,
      vmCount: options.vmsPerHost,
      seed: index + 1,
    });
    hosts.push({ alias, uri: testHostUri(path.resolve(file)) });
  }
  return hosts;
}

/** `host.add` for each host, one after the other; a host already there (same alias) is left as it is. */
export async function registerHosts(request: APIRequestContext, hosts: readonly GeneratedHost[]): Promise<void> {
  for (const host of hosts) {
    const response = await request.post('/api/trpc/host.add', {
      headers: API_HEADERS,
      data: { json: { alias: host.alias, reference: host.uri } },
    });
    if (!response.ok()) {
      const text = await response.text();
      if (!text.includes('already')) throw new Error(`host.add ${host.alias}: ${response.status()} ${text}`);
    }
  }
}
