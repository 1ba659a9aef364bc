'use client';

import type { StreamView } from '@/server/inventory/live/live-fleet';

/** How the host section knows this host: live events, a stream being re-established, or polling only. */
export function HostStreamBadge({
  stream,
  lastReadAt,
  libvirtVersion,
}: {
  stream?: StreamView | null;
  lastReadAt?: Date | null;
  libvirtVersion?: string | null;
}) {
  if (!stream) return null;
  const { text, tone } = describe(stream);
  const details = [
    stream.lastError ? `last error: ${stream.lastError}` : null,
    stream.reason,
    lastReadAt ? `last read ${clock(lastReadAt)}` : null,
    libvirtVersion ? `libvirt ${libvirtVersion}` : null,
  ].filter(Boolean);
  return (
    <span
      data-testid="host-stream"
      data-stream-state={stream.state}
      title={details.join(' · ')}
      className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ${tone}`}
    >
      <span aria-hidden className="h-1.5 w-1.5 rounded-full bg-current" />
      {text}
      {libvirtVersion ? <span className="font-normal opacity-70">· libvirt {libvirtVersion}</span> : null}
    </span>
  );
}

function describe(stream: StreamView): { text: string; tone: string } {
  switch (stream.state) {
    case 'live':
      return { text: 'live', tone: 'bg-emerald-100 text-emerald-800' };
    case 'connecting':
      return { text: 'connecting', tone: 'bg-slate-100 text-slate-700' };
    case 'reconnecting':
      return {
        text: stream.since ? `reconnecting since ${clock(stream.since)}` : 'reconnecting',
        tone: 'bg-amber-100 text-amber-800',
      };
    case 'unavailable':
      return { text: 'polling only', tone: 'bg-slate-100 text-slate-600' };
    case 'stopped':
      return { text: 'not followed', tone: 'bg-slate-100 text-slate-600' };
    default: {
      const unknown: never = stream.state;
      return { text: String(unknown), tone: '' };
    }
  }
}

/** "12:03": the time of day is what a person compares with their own clock. */
function clock(date: Date | string): string {
  return new Date(date).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}
