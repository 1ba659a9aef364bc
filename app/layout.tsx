import type { Metadata } from 'next';
import Link from 'next/link';
import { Ship } from 'lucide-react';
import { Toaster } from 'sonner';
import { TRPCReactProvider } from '@/trpc/client';
import { UserMenu } from './_components/user-menu';
import './globals.css';

export const metadata: Metadata = {
  title: 'Ferry',
  description: 'Live migration for libvirt/KVM fleets',
};

const NAV = [
  { href: '/', label: 'Fleet' },
  { href: '/hosts', label: 'Hosts' },
  { href: '/migrations', label: 'Migrations' },
  { href: '/audit', label: 'Audit' },
] as const;

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen">
        <TRPCReactProvider>
          <header className="border-b border-slate-200 bg-white">
            <nav className="mx-auto flex max-w-7xl items-center gap-6 px-6 py-3" aria-label="Main">
              <Link href="/" className="flex items-center gap-1.5 text-lg font-semibold tracking-tight text-indigo-700">
                <Ship aria-hidden className="h-5 w-5" /> Ferry
              </Link>
              {NAV.map((item) => (
                <Link
                  key={item.href}
                  href={item.href}
                  className="text-sm font-medium text-slate-600 hover:text-slate-900"
                >
                  {item.label}
                </Link>
              ))}
              <UserMenu />
            </nav>
          </header>
          <main className="mx-auto max-w-7xl px-6 py-6">{children}</main>
          <Toaster richColors position="bottom-right" />
        </TRPCReactProvider>
      </body>
    </html>
  );
}
