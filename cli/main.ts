import { parseArgs } from 'node:util';
import { connect, toCliError, type Api } from './api';
import { COMMANDS, type Command, type OptionSpec } from './commands';
import { CliError, EXIT } from './errors';
import { signerFromEnvironment } from './keys';

/**
 * `ferry <command> …`: Ferry's API from a shell, each request signed with the user's SSH key (ssh-agent or a
 * key file) as server/signed-api/protocol.ts specifies. Expected failures print one line and exit 1 (refused
 * or failed), 2 (usage), 3 (unreachable); only a bug prints a stack, and only with FERRY_DEBUG=1.
 */

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  url: { type: 'string' },
  key: { type: 'string' },
};

const GLOBAL_HELP = [
  '  --json            machine-readable output (one JSON document; jsonl for audit)',
  '  --url <url>       Ferry’s address (default: $FERRY_URL)',
  '  --key <file>      sign with this private key file instead of ssh-agent (default: $FERRY_KEY_FILE)',
  '  -h, --help        this help',
];

function generalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'Usage: ferry <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`),
    '',
    'Options for every command:',
    ...GLOBAL_HELP,
    '',
    'Environment: FERRY_URL (required unless --url), SSH_AUTH_SOCK (ssh-agent), FERRY_KEY (which agent key:',
    'fingerprint, comment or file), FERRY_KEY_FILE and FERRY_KEY_PASSPHRASE (sign with a key file).',
    'Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 Ferry unreachable.',
    '`ferry <command> --help` shows a command’s options.',
    '',
  ].join('\n');
}

/** Commands that follow something running in Ferry: Ctrl-C only stops the following. */
function interruptNote(name: string): string {
  if (name === 'migrate' || name === 'watch') return ' (Ctrl-C without a terminal: 130, the migration continues)';
  if (name === 'evacuate' || name === 'bring-back' || name === 'evacuation') {
    return ' (Ctrl-C while following: 130, the evacuation continues)';
  }
  return '';
}

function commandHelp(name: string, command: Command): string {
  return [
    `Usage: ferry ${command.usage}`,
    '',
    `${command.summary[0]?.toUpperCase()}${command.summary.slice(1)}.`,
    '',
    ...(command.help.length > 0 ? ['Options:', ...command.help, ''] : []),
    'Options for every command:',
    ...GLOBAL_HELP,
    '',
    `Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 Ferry unreachable${interruptNote(name)}.`,
    '',
  ].join('\n');
}

function baseUrlFrom(text: string | undefined): URL {
  if (!text) throw new CliError(EXIT.usage, 'Set FERRY_URL (e.g. https://ferry.example.org) or pass --url.');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(EXIT.usage, `FERRY_URL is not a URL: "${text}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(EXIT.usage, `FERRY_URL must be http:// or https://, not ${url.protocol}`);
  }
  return url;
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? process.stderr : process.stdout).write(generalHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command)
    throw new CliError(EXIT.usage, `Unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}.`);

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // parseArgs' own sentences ("Unknown option '--hots'"), minus its advice about '--' for positionals.
    const message = (error as Error).message.split('. To specify a positional')[0];
    throw new CliError(EXIT.usage, `${message}. See ferry ${name} --help.`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(commandHelp(name, command));
    return EXIT.ok;
  }
  if (positionals.length < command.positionals.min || positionals.length > command.positionals.max) {
    throw new CliError(EXIT.usage, `Usage: ferry ${command.usage}`);
  }

  let api: Promise<Api> | null = null;
  return command.run({
    values,
    positionals,
    isJson: values.json === true,
    io: { out: process.stdout, err: process.stderr, stdin: process.stdin, isJson: values.json === true },
    api: () => {
      api ??= (async () => {
        const baseUrl = baseUrlFrom(typeof values.url === 'string' ? values.url : process.env.FERRY_URL);
        const signer = await signerFromEnvironment({
          keyFile: typeof values.key === 'string' ? values.key : undefined,
          env: process.env,
        });
        return connect({ baseUrl, signer });
      })();
      return api;
    },
  });
}

async function main() {
  // A reader that stops early (`ferry vms | head -1`) is not an error of ours.
  process.stdout.on('error', (error: NodeJS.ErrnoException) =>
    process.exit(error.code === 'EPIPE' ? EXIT.ok : EXIT.failed),
  );
  let code: number;
  try {
    code = await run(process.argv.slice(2));
  } catch (error) {
    const described = toCliError(error);
    if (described instanceof CliError) {
      process.stderr.write(`ferry: ${described.message}\n`);
      code = described.exitCode;
    } else {
      const message = described instanceof Error ? described.message : String(described);
      process.stderr.write(`ferry: unexpected error: ${message}\n`);
      if (process.env.FERRY_DEBUG && described instanceof Error) process.stderr.write(`${described.stack}\n`);
      code = EXIT.failed;
    }
  }
  // Let stdout drain (a big export into a pipe), then leave even if a stream's socket lingers.
  process.stdout.write('', () => process.exit(code));
}

await main();
