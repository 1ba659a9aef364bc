'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';

export type NavItem = { href: string; label: string };

/** "/" is only the fleet page itself; any other section also owns the pages below it (/hosts/hv1 is Hosts). */
export function isCurrentSection(pathname: string, href: string): boolean {
  if (href === '/') return pathname === '/';
  return pathname === href || pathname.startsWith(`${href}/`);
}

/**
 * The main navigation links. The current section carries aria-current="page" (screen readers announce it, and
 * the style keys off it). The list wraps instead of clipping, so every link stays reachable on a phone.
 */
export function NavLinks({ items }: { items: readonly NavItem[] }) {
  const pathname = usePathname();
  return (
    <ul className="flex flex-wrap items-center gap-x-4 gap-y-1 sm:gap-x-6">
      {items.map((item) => {
        const isCurrent = isCurrentSection(pathname, item.href);
        return (
          <li key={item.href}>
            <Link
              href={item.href}
              aria-current={isCurrent ? 'page' : undefined}
              className="-mb-px border-b-2 border-transparent py-1 text-sm font-medium whitespace-nowrap text-slate-600 hover:text-slate-900 aria-[current=page]:border-indigo-600 aria-[current=page]:text-slate-900"
            >
              {item.label}
            </Link>
          </li>
        );
      })}
    </ul>
  );
}
