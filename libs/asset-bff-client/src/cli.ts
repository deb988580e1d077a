#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import { AssetBffClient } from './asset-bff-client';
import { AssetBffError } from './asset-bff-error';
import { CliEnv, cliEnv } from './cli-config';

/** Exit codes of API.md section 5. */
const EXIT_OK = 0;
const EXIT_SERVICE_ERROR = 1;
const EXIT_USAGE = 2;

const COMMON = `Options:
  --url <url>        the service's base URL (default: $ASSET_BFF_URL)
  --api-key <key>    a service caller's key (default: $ASSET_BFF_API_KEY)
  -h, --help         this help`;

const HELP: Record<string, string> = {
  assets: `Usage: asset-bff assets <orgId> <userId> [--lang <locale>]\nPrints the user's assets in the OU as JSON.\n\n${COMMON}`,
  check: `Usage: asset-bff check <orgId> <userId> <assetId>\nPrints "allowed" or "denied".\n\n${COMMON}`,
  invalidate: `Usage: asset-bff invalidate <orgId> [<userId>]\nDrops the cached assets of the user (or of every user of the OU); prints the consistency token.\n\n${COMMON}`,
  warm: `Usage: asset-bff warm <orgId> --users <file|->\nLoads every user id of the file (one a line; - reads standard input) through the batch route,\nwith a progress bar on a terminal and one summary line.\n\n${COMMON}`,
};
const USAGE = `Usage: asset-bff <command> [arguments] [options]

Commands:
  assets <orgId> <userId> [--lang L]   the user's assets as JSON
  check <orgId> <userId> <assetId>     allowed or denied
  invalidate <orgId> [<userId>]        drop cached assets, print the consistency token
  warm <orgId> --users <file|->        load users through the batch route

Exit codes: 0 success, 1 an error from the service (its code on stderr), 2 bad usage.
Run \`asset-bff <command> --help\` for a command's options.

${COMMON}`;

/** Bad usage: the message and the command's usage go to stderr, exit 2. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** How many positional arguments each command takes (at least, at most). */
const ARITY: Record<string, [number, number]> = { assets: [2, 2], check: [3, 3], invalidate: [1, 2], warm: [1, 1] };

interface Io {
  env: CliEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  readStdin(): string;
}

/** Options that take a value, so that a value is not taken for the command (`--url U assets …`). */
const VALUED = new Set(['--url', '--api-key', '--lang', '--users']);

/** The index of the command: the first argument that is neither an option nor an option's value; -1 when none. */
function commandIndex(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    if (VALUED.has(argv[i])) i++;
    else if (!argv[i].startsWith('-')) return i;
  }
  return -1;
}

/** Runs one command line (options before or after the command); resolves to the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const at = commandIndex(argv);
  const command = at < 0 ? undefined : argv[at];
  try {
    if (command === undefined) {
      const help = argv.includes('-h') || argv.includes('--help');
      (help ? io.stdout : io.stderr).write(`${USAGE}\n`);
      return help ? EXIT_OK : EXIT_USAGE;
    }
    if (!(command in ARITY)) throw new UsageError(`unknown command "${command}"`);
    const { values, positionals } = parseCommand(command, [...argv.slice(0, at), ...argv.slice(at + 1)]);
    if (values.help) {
      io.stdout.write(`${HELP[command]}\n`);
      return EXIT_OK;
    }
    const [min, max] = ARITY[command];
    if (positionals.length < min || positionals.length > max)
      throw new UsageError(`${command} takes ${min === max ? min : `${min} or ${max}`} arguments`, command);
    const url = values.url ?? io.env.url;
    const apiKey = values['api-key'] ?? io.env.apiKey;
    if (!url) throw new UsageError('no service URL: pass --url or set ASSET_BFF_URL', command);
    if (!apiKey) throw new UsageError('no API key: pass --api-key or set ASSET_BFF_API_KEY', command);
    const client = new AssetBffClient({ baseUrl: url, apiKey });
    switch (command) {
      case 'assets': {
        const answer = await client.userAssets(positionals[0], positionals[1], { lang: values.lang });
        io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
        break;
      }
      case 'check': {
        const [orgId, userId, assetId] = positionals;
        const { results } = await client.checkAccess(orgId, [{ userId, assetId }]);
        io.stdout.write(`${results[0].allowed ? 'allowed' : 'denied'}\n`);
        break;
      }
      case 'invalidate': {
        const [orgId, userId] = positionals;
        io.stdout.write(`${userId === undefined ? await client.invalidateOrg(orgId) : await client.invalidateUser(orgId, userId)}\n`);
        break;
      }
      case 'warm':
        await warm(client, positionals[0], values.users, io);
        break;
    }
    return EXIT_OK;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`asset-bff: ${e.message}\n\n${e.command ? HELP[e.command] : USAGE}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof AssetBffError) {
      io.stderr.write(`asset-bff: ${e.code} (${e.status}): ${e.message}${e.requestId ? ` [request ${e.requestId}]` : ''}\n`);
      return EXIT_SERVICE_ERROR;
    }
    throw e;
  }
}

function parseCommand(command: string, args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        'api-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        ...(command === 'assets' ? { lang: { type: 'string' as const } } : {}),
        ...(command === 'warm' ? { users: { type: 'string' as const } } : {}),
      },
    }) as { values: { url?: string; 'api-key'?: string; help?: boolean; lang?: string; users?: string }; positionals: string[] };
  } catch (e) {
    throw new UsageError((e as Error).message, command);
  }
}

async function warm(client: AssetBffClient, orgId: string, source: string | undefined, io: Io): Promise<void> {
  if (source === undefined) throw new UsageError('warm needs --users <file|->', 'warm');
  let text: string;
  try {
    text = source === '-' ? io.readStdin() : readFileSync(source, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${source}: ${(e as Error).message}`, 'warm');
  }
  const userIds = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (userIds.length === 0) throw new UsageError(`${source} lists no user id`, 'warm');
  const started = Date.now();
  // The bar goes to stderr, and only on a terminal: a pipe or a log gets the summary line alone.
  const bar = io.stderr.isTTY
    ? new SingleBar(
        {
          stream: io.stderr,
          format: 'warm {org} [{bar}] {value}/{total} users | {rate} users/s | ETA {eta_formatted}',
          hideCursor: true,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(new Set(userIds).size, 0, { org: orgId, rate: '0' });
  try {
    const answer = await client.usersAssets(orgId, userIds, {
      onProgress: (done) => bar?.update(done, { rate: Math.round(done / Math.max((Date.now() - started) / 1000, 0.001)).toString() }),
    });
    bar?.stop();
    const seconds = (Date.now() - started) / 1000;
    io.stdout.write(`warm ${orgId}: ${answer.users.length} users, ${answer.assets.length} assets in ${seconds.toFixed(1)} s\n`);
  } finally {
    bar?.stop();
  }
}

if (require.main === module) {
  run(process.argv.slice(2), { env: cliEnv(), stdout: process.stdout, stderr: process.stderr, readStdin: () => readFileSync(0, 'utf8') }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`asset-bff: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = EXIT_SERVICE_ERROR;
    },
  );
}
