import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../parsers/parse-error';
import { estimateEta, parseDomJobInfo, type DomJobInfo } from './jobinfo';

/** Real captures from the lab (libvirt 9.0, QEMU 7.2): see server/libvirt/fixtures/migration/README.md. */
const FIXTURES = new URL('../fixtures/migration/', import.meta.url);
const MiB = 1024 * 1024;

type Sample = { t: number; exitCode: number; stdout: string; stderr: string };

function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

/** `virsh domjobinfo vm1` on the source every ~0.5 s through the `--bandwidth 8` migration. */
const BW8_SAMPLES: Sample[] = readFileSync(new URL('migrate-bw8.jobinfo-source.jsonl', FIXTURES), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as Sample);
const BW8_PARSED = BW8_SAMPLES.filter((sample) => sample.exitCode === 0).map((sample) =>
  parseDomJobInfo(sample.stdout),
);

/** The `job-completed` event libvirt emitted on the source for the same run (migrate-bw8.events-hv1.txt). */
function jobCompletedEvent(): Record<string, number> {
  const text = readFileSync(new URL('migrate-bw8.events-hv1.txt', FIXTURES), 'utf8');
  const params: Record<string, number> = {};
  for (const match of text.matchAll(/^\t(\w+): (\d+)$/gm)) params[match[1] as string] = Number(match[2]);
  return params;
}

describe('parseDomJobInfo on real output', () => {
  it('reads every sample of the bw8 run and walks none → unknown → disk → memory', () => {
    expect(BW8_SAMPLES.filter((sample) => sample.exitCode !== 0).map((sample) => sample.stderr)).toEqual([
      "error: failed to get domain 'vm1'\n",
    ]);
    const phases = BW8_PARSED.map((info) => info.phase).filter((phase, index, all) => phase !== all[index - 1]);
    expect(phases).toEqual(['none', 'unknown', 'disk', 'memory']);
    expect(BW8_PARSED[0]).toMatchObject({
      jobType: 'none',
      isIdle: true,
      operation: null,
      timeElapsedMs: null,
      data: null,
    });
  });

  it('reads a disk-copy sample to the byte', () => {
    const sample = BW8_PARSED.find((info) => info.timeElapsedMs === 672) as DomJobInfo;
    expect(sample).toMatchObject({
      jobType: 'unbounded',
      isIdle: false,
      operation: 'Outgoing migration',
      phase: 'disk',
      data: { processedBytes: 16 * MiB, remainingBytes: 240 * MiB, totalBytes: 256 * MiB },
      disk: { processedBytes: 16 * MiB, remainingBytes: 240 * MiB, totalBytes: 256 * MiB },
      memory: null,
      extra: {},
    });
  });

  it('reads --completed on the source: downtime, setup time, memory and disk counters', () => {
    const { stdout } = readJson<Sample>('domjobinfo-completed-source.json');
    expect(parseDomJobInfo(stdout)).toEqual({
      jobType: 'completed',
      isIdle: false,
      operation: 'Outgoing migration',
      phase: 'completed',
      timeElapsedMs: 603,
      timeElapsedNetMs: 600,
      timeRemainingMs: null,
      data: { processedBytes: 269005881, remainingBytes: 0, totalBytes: 335937536 },
      memory: { processedBytes: 570135, remainingBytes: 0, totalBytes: 67502080 },
      disk: { processedBytes: 268435456, remainingBytes: 0, totalBytes: 268435456 },
      memoryBytesPerSecond: 38526779,
      diskBytesPerSecond: null,
      dirtyPagesPerSecond: 0,
      pageSizeBytes: 4096,
      iteration: 2,
      postcopyRequests: 0,
      constantPages: 16377,
      normalPages: 103,
      normalDataBytes: 421888,
      expectedDowntimeMs: null,
      totalDowntimeMs: 22,
      downtimeNetMs: 19,
      setupTimeMs: 1,
      compressionCacheBytes: null,
      compressedDataBytes: null,
      compressedPages: null,
      compressionCacheMisses: null,
      compressionOverflows: null,
      autoConvergeThrottlePercent: null,
      temporaryDiskUseBytes: null,
      temporaryDiskTotalBytes: null,
      errorMessage: null,
      extra: {},
    } satisfies DomJobInfo);
  });

  it("agrees with the typed parameters of libvirt's job-completed event for the same run, within virsh's rounding", () => {
    const info = parseDomJobInfo(readJson<Sample>('migrate-bw8.domjobinfo-completed-destination.json').stdout);
    const event = jobCompletedEvent();
    expect(info).toMatchObject({
      jobType: 'completed',
      operation: 'Incoming migration',
      phase: 'completed',
      disk: null,
    });
    // virsh prints sizes with three decimals of their unit: 556.772 KiB is ±0.512 bytes, 32.874 MiB/s ±524 B/s.
    expect(info.memory?.processedBytes).toBe(event.memory_processed);
    expect(info.memory?.totalBytes).toBe(event.memory_total);
    expect(Math.abs((info.memoryBytesPerSecond as number) - (event.memory_bps as number))).toBeLessThanOrEqual(
      0.0005 * MiB,
    );
    expect(info.normalDataBytes).toBe(event.memory_normal_bytes);
    expect(info.constantPages).toBe(event.memory_constant);
    expect(info.normalPages).toBe(event.memory_normal);
    expect(info.pageSizeBytes).toBe(event.memory_page_size);
    expect(info.iteration).toBe(event.memory_iteration);
    expect(info.totalDowntimeMs).toBe(event.downtime);
    expect(info.downtimeNetMs).toBe(event.downtime_net);
    expect(info.setupTimeMs).toBe(event.setup_time);
  });

  it('reads a running job that reports only its elapsed time as phase unknown (shared/virsh-samples/mig3.jobinfo)', () => {
    // Copied from mig3.jobinfo, an earlier lab run where libvirt printed no counters for the whole disk copy.
    const info = parseDomJobInfo(
      'Job type:         Unbounded   \nOperation:        Outgoing migration\nTime elapsed:     4381         ms\n',
    );
    expect(info).toMatchObject({
      jobType: 'unbounded',
      phase: 'unknown',
      timeElapsedMs: 4381,
      data: null,
      memory: null,
      disk: null,
    });
  });

  it("reads the memory phase from mig3.jobinfo's last sample", () => {
    // Copied from shared/virsh-samples/mig3.jobinfo (t=9.398).
    const info = parseDomJobInfo(
      [
        'Job type:         Unbounded   ',
        'Operation:        Outgoing migration',
        'Time elapsed:     8577         ms',
        'Data processed:   256.563 MiB',
        'Data remaining:   0.000 B',
        'Data total:       320.375 MiB',
        'Memory processed: 576.810 KiB',
        'Memory remaining: 0.000 B',
        'Memory total:     64.375 MiB',
        'File processed:   256.000 MiB',
        'File remaining:   0.000 B',
        'File total:       256.000 MiB',
        '',
      ].join('\n'),
    );
    expect(info.phase).toBe('memory');
    expect(info.memory).toEqual({ processedBytes: 590653, remainingBytes: 0, totalBytes: 67502080 });
  });

  it("reads the lines a long-running precopy and a post-copy add, in virsh 9.0's format", () => {
    // Constructed: the labels and printf formats of cmdDomjobinfo (tools/virsh-domain.c); the lab guests
    // migrated too fast to print them. Numbers are made up.
    const info = parseDomJobInfo(
      [
        'Job type:         Unbounded   ',
        'Operation:        Outgoing migration',
        'Time elapsed:     41234        ms',
        'Data processed:   1.250 GiB',
        'Data remaining:   512.000 MiB',
        'Data total:       4.000 GiB',
        'Memory processed: 1.250 GiB',
        'Memory remaining: 512.000 MiB',
        'Memory total:     4.000 GiB',
        'Memory bandwidth: 33.254 MiB/s',
        'Dirty rate:       1200         pages/s',
        'Page size:        4096         bytes',
        'Iteration:        3           ',
        'Postcopy requests: 17          ',
        'Constant pages:   100         ',
        'Normal pages:     200         ',
        'Normal data:      800.000 KiB',
        'Expected downtime: 300          ms',
        'Setup time:       12           ms',
        'Compression cache: 64.000 MiB',
        'Compressed data:  2.500 MiB',
        'Compressed pages: 1000         ',
        'Compression cache misses: 12           ',
        'Compression overflows: 0            ',
        'Auto converge throttle: 20           ',
        'Some future line: 42 widgets',
        '',
      ].join('\n'),
    );
    expect(info).toMatchObject({
      phase: 'postcopy',
      memoryBytesPerSecond: 34869346,
      dirtyPagesPerSecond: 1200,
      iteration: 3,
      postcopyRequests: 17,
      expectedDowntimeMs: 300,
      totalDowntimeMs: null,
      compressionCacheBytes: 64 * MiB,
      compressedDataBytes: 2.5 * MiB,
      compressedPages: 1000,
      compressionCacheMisses: 12,
      compressionOverflows: 0,
      autoConvergeThrottlePercent: 20,
      extra: { 'Some future line': '42 widgets' },
    });
    expect(info.data).toEqual({
      processedBytes: 1.25 * 1024 * MiB,
      remainingBytes: 512 * MiB,
      totalBytes: 4 * 1024 * MiB,
    });
  });

  it('reads a failed job and a job that is not a migration', () => {
    expect(
      parseDomJobInfo(
        'Job type:         Failed      \nOperation:        Outgoing migration\nError message:    operation aborted: migration out: canceled by client\n',
      ),
    ).toMatchObject({
      phase: 'failed',
      errorMessage: 'operation aborted: migration out: canceled by client',
    });
    expect(
      parseDomJobInfo(
        'Job type:         Unbounded   \nOperation:        Dump\nTime elapsed:     10 ms\nMemory processed: 1.000 MiB\nMemory remaining: 1.000 MiB\nMemory total:     2.000 MiB\n',
      ).phase,
    ).toBe('unknown');
  });

  it('refuses output it does not understand, pointing at the line', () => {
    expect(() => parseDomJobInfo('')).toThrow(ParseError);
    expect(() => parseDomJobInfo('Operation:        Outgoing migration\n')).toThrow(/no "Job type:" line/);
    expect(() => parseDomJobInfo('Job type:         Sideways\n')).toThrow(/unknown job type "Sideways" at line 1/);
    expect(() => parseDomJobInfo('Job type:         Unbounded\nTime elapsed:     soon ms\n')).toThrow(
      /Time elapsed is not "<n> ms" .* at line 2/,
    );
    expect(() =>
      parseDomJobInfo(
        'Job type:         Unbounded\nData processed:   12 parsecs\nData remaining:   0.000 B\nData total:       0.000 B\n',
      ),
    ).toThrow(/Data processed is not a size/);
    expect(() => parseDomJobInfo('Job type:         Unbounded\nMemory bandwidth: 3.000 MiB\n')).toThrow(
      /Memory bandwidth is not a rate/,
    );
    expect(() => parseDomJobInfo('Job type:         Unbounded\nData processed:   1.000 MiB\n')).toThrow(
      /data counters are incomplete/,
    );
    expect(() => parseDomJobInfo('Job type:         Unbounded\njust words\n')).toThrow(
      /line has no "<label>:" at line 2/,
    );
  });
});

describe('estimateEta', () => {
  const job = (
    elapsedMs: number,
    processedMiB: number,
    remainingMiB: number,
    extra: Partial<DomJobInfo> = {},
  ): DomJobInfo => ({
    ...parseDomJobInfo('Job type:         Unbounded   \nOperation:        Outgoing migration\n'),
    timeElapsedMs: elapsedMs,
    data: {
      processedBytes: processedMiB * MiB,
      remainingBytes: remainingMiB * MiB,
      totalBytes: (processedMiB + remainingMiB) * MiB,
    },
    ...extra,
  });

  it('measures the real --bandwidth 8 run at about 8 MiB/s and predicts its end', () => {
    const finishMs = 32_130; // last sample before the switch-over: Data remaining 0 from 30 709 ms on
    let checked = 0;
    for (let index = 1; index <= BW8_PARSED.length; index += 1) {
      const samples = BW8_PARSED.slice(0, index);
      const last = samples.at(-1) as DomJobInfo;
      const estimate = estimateEta({ samples });
      if (
        last.timeElapsedMs === null ||
        last.timeElapsedMs < 10_000 ||
        last.data === null ||
        last.data.remainingBytes === 0
      )
        continue;
      checked += 1;
      expect(estimate.basis).toBe('measured');
      // virsh reports the disk copy in 16 MiB steps every ~2 s, so a 10 s window sees 7–10 MiB/s.
      expect(estimate.bytesPerSecond as number).toBeGreaterThan(6 * MiB);
      expect(estimate.bytesPerSecond as number).toBeLessThan(10.5 * MiB);
      const actualSeconds = (finishMs - last.timeElapsedMs) / 1000;
      expect(Math.abs((estimate.etaSeconds as number) - actualSeconds), `at ${last.timeElapsedMs} ms`).toBeLessThan(
        Math.max(4, actualSeconds * 0.35),
      );
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('gives 0 s once nothing remains, and nothing at all before the job has counters', () => {
    expect(estimateEta({ samples: BW8_PARSED }).etaSeconds).toBe(0);
    expect(estimateEta({ samples: BW8_PARSED.slice(0, 2) })).toEqual({
      bytesPerSecond: null,
      etaSeconds: null,
      remainingBytes: null,
      basis: null,
    });
    expect(estimateEta({ samples: [] })).toEqual({
      bytesPerSecond: null,
      etaSeconds: null,
      remainingBytes: null,
      basis: null,
    });
  });

  it('stays positive and finite when a new memory iteration raises the remaining bytes', () => {
    const samples = [job(0, 0, 100), job(2000, 40, 60), job(4000, 80, 20), job(5000, 100, 45), job(6000, 120, 30)];
    const estimate = estimateEta({ samples });
    expect(estimate.bytesPerSecond).toBeCloseTo(20 * MiB, -3);
    expect(estimate.etaSeconds).toBeCloseTo(1.5, 5);
    for (let index = 1; index <= samples.length; index += 1) {
      const { etaSeconds } = estimateEta({ samples: samples.slice(0, index) });
      if (etaSeconds !== null) expect(etaSeconds).toBeGreaterThanOrEqual(0);
    }
  });

  it('starts over when elapsed time or processed bytes go back (a new job)', () => {
    const estimate = estimateEta({
      samples: [job(10_000, 500, 10), job(20_000, 900, 5), job(1000, 0, 100), job(3000, 20, 80)],
    });
    expect(estimate).toMatchObject({ basis: 'measured', remainingBytes: 80 * MiB });
    expect(estimate.bytesPerSecond).toBeCloseTo(10 * MiB, -3);
    expect(estimate.etaSeconds).toBeCloseTo(8, 5);
  });

  it('uses only the recent window', () => {
    // 1 MiB/s for a minute, then 10 MiB/s: the default 10 s window sees only the fast part.
    const samples = [job(0, 0, 500), job(60_000, 60, 440), job(65_000, 110, 390), job(70_000, 160, 340)];
    expect(estimateEta({ samples }).bytesPerSecond).toBeCloseTo(10 * MiB, -3);
    expect(estimateEta({ samples, windowMs: 120_000 }).bytesPerSecond).toBeCloseTo((160 / 70) * MiB, -3);
  });

  it('falls back to the bandwidth virsh reports when the samples span too little time', () => {
    const estimate = estimateEta({ samples: [job(5000, 10, 90, { memoryBytesPerSecond: 30 * MiB })] });
    expect(estimate).toEqual({ bytesPerSecond: 30 * MiB, etaSeconds: 3, remainingBytes: 90 * MiB, basis: 'reported' });
  });

  it('says "unknown" for a stalled or absurdly slow transfer instead of inventing a number', () => {
    expect(estimateEta({ samples: [job(0, 10, 90), job(5000, 10, 90)] })).toEqual({
      bytesPerSecond: 0,
      etaSeconds: null,
      remainingBytes: 90 * MiB,
      basis: 'measured',
    });
    const slow = estimateEta({ samples: [job(0, 0, 10_000_000), job(10_000, 0.001, 10_000_000)] });
    expect(slow.bytesPerSecond).toBeGreaterThan(0);
    expect(slow.etaSeconds).toBeNull();
  });
});
