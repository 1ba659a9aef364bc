import type { Metadata } from 'next';
import Link from 'next/link';
import { connection } from 'next/server';
import { Ship } from 'lucide-react';
import { NuqsAdapter } from 'nuqs/adapters/next/app';
import { Toaster } from 'sonner';
import { TRPCReactProvider } from '@/trpc/client';
import { NavLinks } from './_components/nav';
import { UserMenu } from './_components/user-menu';
import './globals.css';

export const metadata: Metadata = {
  title: 'Ferry',
  description: 'Live migration for libvirt/KVM fleets',
  // Files in public/: browsers ask for /favicon.ico on every first load, and a missing one logs a 404.
  icons: {
    icon: [
      { url: '/favicon.ico', sizes: '16x16 32x32 48x48' },
      { url: '/icon.svg', type: 'image/svg+xml' },
    ],
    apple: '/apple-icon.png',
  },
  manifest: '/manifest.webmanifest',
};

const NAV = [
  { href: '/', label: 'Fleet' },
  { href: '/hosts', label: 'Hosts' },
  { href: '/migrations', label: 'Migrations' },
  { href: '/audit', label: 'Audit' },
  { href: '/settings', label: 'Settings' },
] as const;

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Every page renders per request so Next can put this request's CSP nonce (set by proxy.ts) on its scripts.
  await connection();
  return (
    <html lang="en">
      <body className="min-h-screen">
        <TRPCReactProvider>
          <header className="border-b border-slate-200 bg-white">
            <nav
              className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3 sm:px-6"
              aria-label="Main"
            >
              <Link href="/" className="flex items-center gap-1.5 text-lg font-semibold tracking-tight text-indigo-700">
                <Ship aria-hidden className="h-5 w-5" /> Ferry
              </Link>
              <NavLinks items={NAV} />
              <UserMenu />
            </nav>
          </header>
          <main className="mx-auto max-w-7xl px-4 py-6 sm:px-6">
            <NuqsAdapter>{children}</NuqsAdapter>
          </main>
          <Toaster richColors position="bottom-right" />
        </TRPCReactProvider>
      </body>
    </html>
  );
}
