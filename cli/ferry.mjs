#!/usr/bin/env node
// The `ferry` command: TypeScript run through tsx in this process (no second node), so Ctrl-C reaches the CLI.
import { tsImport } from 'tsx/esm/api';

await tsImport('./main.ts', import.meta.url);
