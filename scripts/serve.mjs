// Ferry's production server, as `npm start` runs it: `node --conditions=react-server scripts/serve.mjs`.
//
// Bundles server/net/serve.ts and the server modules it imports into one JavaScript file with esbuild (packages
// stay in node_modules), then runs it in this process. Running the TypeScript through tsx's loader instead kept
// about 85 MB more resident for the server's whole life (the loader, its compiled sources and source maps):
// 272 → 187 MiB after sign-in, 340 → 254 MiB with 200 open event streams (bench/ferry-server.ts, same build).
// `--conditions=react-server` is needed at run time too: server-only modules refuse to load without it.
//
// Each start writes a file of its own (several Ferrys may start at once from one checkout: the e2e tests do) and
// removes it once loaded; one left by a server killed while starting is removed by the next start.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Inside the checkout, so the bundle's imports of packages resolve to its node_modules.
const outDir = path.join(root, '.next', 'ferry-server');
const outfile = path.join(outDir, `serve-${process.pid}.mjs`);
mkdirSync(outDir, { recursive: true });
for (const name of readdirSync(outDir)) {
  const pid = Number(/^serve-(\d+)\.mjs$/.exec(name)?.[1]);
  if (pid > 0 && !isRunning(pid)) rmSync(path.join(outDir, name), { force: true });
}
buildSync({
  absWorkingDir: root,
  entryPoints: ['server/net/serve.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  conditions: ['react-server'],
  logLevel: 'warning',
});
try {
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(outfile, { force: true });
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}
