/**
 * Reads `virsh event --all --loop --timestamp` (LC_ALL=C), one domain event per header line, as virsh 9.0 writes it:
 *
 *     2026-11-26 10:31:13.402+0000: event 'lifecycle' for domain 'vm1': Suspended Migrated
 *
 * Some kinds (job-completed, tunable, memory-failure, memory-device-size-change) end their header with `':` and
 * continue on tab-indented lines, written by virsh in one write:
 *
 *     2026-11-26 10:31:15.039+0000: event 'job-completed' for domain 'vm1':
 *     	operation: 5
 *
 * Older virsh printed some names without quotes (`for domain vm1: Started Booted`); both are read.
 * virsh puts the name between quotes verbatim, so a (legal) name such as `a': Started Booted` makes the line
 * ambiguous. Each kind's detail has a known shape, which settles most cases; where it does not, `candidates` lists
 * every name the line can be read as (shortest first) and the caller picks one it knows, or re-lists the host.
 * An event is only ever a reason to re-read the domain, never its new state.
 */

export type DomainEvent = {
  /** virsh's --timestamp; null when the line carried none. */
  at: Date | null;
  /** 'lifecycle', 'reboot', 'job-completed', … */
  kind: string;
  /** The best reading of the domain name (first of candidates). */
  domain: string;
  /** Every reading of the name the line allows, shortest first; one entry unless the name itself is ambiguous. */
  candidates: string[];
  /** The text after the name (`Started Booted`), continuation lines joined by '\n' (`operation: 5\n…`). */
  detail: string;
};

const HEADER =
  /^(?:(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)([+-]\d{2})(\d{2}): )?event '([a-z0-9-]+)' for domain (.*)$/;

/** Kinds whose header ends with `':` and whose fields follow on tab-indented lines. */
const MULTI_LINE_KINDS = new Set(['job-completed', 'tunable', 'memory-failure', 'memory-device-size-change']);

/** What follows the name, per kind (virsh 9.0's format strings); anything else is `: <detail>`. */
const TAIL_SHAPES: Record<string, RegExp> = {
  lifecycle: /^: \S+ \S+$/,
  'migration-iteration': /^: iteration: '-?\d+'$/,
  'balloon-change': /^: \d+KiB$/,
  'rtc-change': /^: -?\d+$/,
  watchdog: /^: \S+$/,
  'agent-lifecycle': /^: state: '[^']*' reason: '[^']*'$/,
  'disk-change': /^ disk /,
  'tray-change': /^ disk /,
  'block-threshold': /^: dev: /,
  'metadata-change': /^: type \S+, uri /,
};
const MULTI_LINE_TAIL = /^:$/;
/** Generic events carry nothing after the name; an unknown kind may or may not carry `: <detail>`. */
const GENERIC_KINDS = new Set(['reboot', 'control-error', 'pmwakeup', 'pmsuspend', 'pmsuspend-disk']);
const GENERIC_TAIL = /^$/;
const DETAIL_TAIL = /^: /;

function tailMatches(kind: string, tail: string): boolean {
  if (MULTI_LINE_KINDS.has(kind)) return MULTI_LINE_TAIL.test(tail);
  if (GENERIC_KINDS.has(kind)) return GENERIC_TAIL.test(tail);
  const shape = TAIL_SHAPES[kind];
  if (shape !== undefined) return shape.test(tail);
  return GENERIC_TAIL.test(tail) || DETAIL_TAIL.test(tail);
}

function detailOf(tail: string): string {
  if (tail.startsWith(': ')) return tail.slice(2);
  if (tail === ':') return '';
  return tail.trim();
}

type Split = { name: string; tail: string };

/** Every way `rest` (what follows "for domain ") splits into a name and a tail of the kind's shape. */
function splits(kind: string, rest: string): Split[] {
  const found: Split[] = [];
  if (rest.startsWith("'")) {
    for (let index = rest.indexOf("'", 1); index !== -1; index = rest.indexOf("'", index + 1)) {
      const tail = rest.slice(index + 1);
      if (tailMatches(kind, tail)) found.push({ name: rest.slice(1, index), tail });
    }
    if (found.length > 0) return found;
  }
  for (let index = 1; index <= rest.length; index++) {
    const tail = rest.slice(index);
    if (tailMatches(kind, tail)) found.push({ name: rest.slice(0, index), tail });
  }
  return found;
}

function timestampOf(match: RegExpMatchArray): Date | null {
  const [, date, time, zoneHours, zoneMinutes] = match;
  if (date === undefined || time === undefined) return null;
  const at = new Date(`${date}T${time}${zoneHours}:${zoneMinutes}`);
  return Number.isNaN(at.getTime()) ? null : at;
}

/** One header line as an event, or null for anything else (continuations, "events received: 3", blank lines). */
export function parseDomainEventLine(line: string): DomainEvent | null {
  const match = HEADER.exec(line);
  if (match === null) return null;
  const kind = match[5] as string;
  const found = splits(kind, match[6] as string);
  const first = found[0];
  if (first === undefined) return null;
  return {
    at: timestampOf(match),
    kind,
    domain: first.name,
    candidates: found.map((split) => split.name),
    detail: detailOf(first.tail),
  };
}

export type DomainEventParser = {
  /** Feeds raw stdout; returns the events completed by it. A multi-line event waits for flush or the next line. */
  push(chunk: string): DomainEvent[];
  /** Ends a pending multi-line event (virsh writes one event per write, so call it when a read went quiet). */
  flush(): DomainEvent[];
  /** Whether a multi-line event is waiting for more continuation lines. */
  readonly hasPending: boolean;
};

/** A streaming reader of `virsh event --loop` output: split reads, CRLF and continuation lines are handled. */
export function createDomainEventParser(): DomainEventParser {
  let partial = '';
  let pending: DomainEvent | null = null;
  const continuation: string[] = [];

  const takePending = (): DomainEvent[] => {
    if (pending === null) return [];
    const event = { ...pending, detail: [pending.detail, ...continuation].filter(Boolean).join('\n') };
    pending = null;
    continuation.length = 0;
    return [event];
  };

  return {
    get hasPending() {
      return pending !== null;
    },
    push(chunk) {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      const events: DomainEvent[] = [];
      for (const raw of lines) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (pending !== null && line.startsWith('\t')) {
          continuation.push(line.trim());
          continue;
        }
        events.push(...takePending());
        const event = parseDomainEventLine(line);
        if (event === null) continue;
        if (MULTI_LINE_KINDS.has(event.kind)) pending = event;
        else events.push(event);
      }
      return events;
    },
    flush() {
      return takePending();
    },
  };
}
