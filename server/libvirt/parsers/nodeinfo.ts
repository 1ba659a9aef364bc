import { parseCount, parseKeyValueLines, parseKibToBytes, requireEntry } from './text';

export type NodeInfo = {
  /** On qemu this is the architecture (x86_64); the test driver prints the model from its node file. */
  cpuModel: string;
  cpus: number;
  mhz: number;
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
  numaCells: number;
  memoryBytes: number;
};

/**
 * Reads `virsh nodeinfo`:
 *
 *     Memory size:         6645964 KiB
 */
export function parseNodeinfo(text: string): NodeInfo {
  const command = 'nodeinfo';
  const entries = parseKeyValueLines({ command, text });
  const get = (key: string) => requireEntry(entries, { command, key });
  const count = (key: string, value = get(key).value) => parseCount({ command, value, line: get(key).line, what: key });
  return {
    cpuModel: get('CPU model').value,
    cpus: count('CPU(s)'),
    mhz: count('CPU frequency', get('CPU frequency').value.replace(/ MHz$/, '')),
    sockets: count('CPU socket(s)'),
    coresPerSocket: count('Core(s) per socket'),
    threadsPerCore: count('Thread(s) per core'),
    numaCells: count('NUMA cell(s)'),
    memoryBytes: parseKibToBytes({
      command,
      value: get('Memory size').value,
      line: get('Memory size').line,
      what: 'Memory size',
    }),
  };
}
