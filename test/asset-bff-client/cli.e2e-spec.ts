import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BffHandle, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const CLI = join(__dirname, '..', '..', 'libs', 'asset-bff-client', 'dist', 'cli.js');
const users = (count: number) => Array.from({ length: count }, (_, i) => (i < 20 ? `u${String(i + 1).padStart(4, '0')}` : `ghost-${i}`));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command line to its exit, with the given environment and standard input. */
function exec(cmd: string, args: string[], env: Record<string, string>, input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(input);
  });
}

/** API.md section 5: the `asset-bff` CLI run as a process against the real service. */
describe('asset-bff CLI', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let dir: string;
  let env: Record<string, string>;
  const cli = (args: string[], input = '', extraEnv: Record<string, string> = env) => exec(process.execPath, [CLI, ...args], extraEnv, input);

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(12), LOG_LEVEL: 'warn' } });
    env = { ASSET_BFF_URL: bff.url, ASSET_BFF_API_KEY: TEST_KEYS.reader };
    dir = mkdtempSync(join(tmpdir(), 'asset-bff-cli-'));
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints --help for the tool and for each command, exit 0', async () => {
    const top = await cli(['--help']);
    expect([top.code, top.stderr]).toEqual([0, '']);
    for (const command of ['assets', 'check', 'invalidate', 'warm']) expect(top.stdout).toContain(`  ${command} <orgId>`);
    for (const command of ['assets', 'check', 'invalidate', 'warm']) {
      const r = await cli([command, '--help'], '', {});
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toMatch(new RegExp(`^Usage: asset-bff ${command} <orgId>`));
      expect(r.stdout).toContain('--api-key <key>');
    }
  });

  it('exits 2 on bad usage, with the usage on stderr', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      [[], env, 'Usage: asset-bff <command>'],
      [['frobnicate'], env, 'unknown command "frobnicate"'],
      [['--url', 'http://127.0.0.1:1'], env, 'Usage: asset-bff <command>'],
      [['assets', 'o1'], env, 'assets takes 2 arguments'],
      [['check', 'o1', 'u0005', 'o1-a0001', 'extra'], env, 'check takes 3 arguments'],
      [['assets', 'o1', 'u0005', '--colour'], env, "Unknown option '--colour'"],
      [['assets', 'o1', 'u0005'], { ASSET_BFF_API_KEY: TEST_KEYS.reader }, 'no service URL'],
      [['assets', 'o1', 'u0005'], { ASSET_BFF_URL: 'http://127.0.0.1:1' }, 'no API key'],
      [['warm', 'o1'], env, 'warm needs --users'],
      [['warm', 'o1', '--users', join(dir, 'missing.txt')], env, 'cannot read'],
    ];
    for (const [args, e, message] of cases) {
      const r = await cli(args, '', e);
      expect([args, r.code, r.stdout]).toEqual([args, 2, '']);
      expect(r.stderr).toContain(message);
    }
  });

  it('assets prints the answer as JSON; --url and --api-key stand for the environment', async () => {
    const r = await cli(['assets', 'o1', 'u0005', '--lang', 'zh_CN', '--url', bff.url, '--api-key', TEST_KEYS.reader], '', {});
    expect([r.code, r.stderr]).toEqual([0, '']);
    const answer = JSON.parse(r.stdout);
    expect(answer).toMatchObject({ orgId: 'o1', userId: 'u0005', total: 10 });
    expect(answer.assets[0].name).toBe(answer.assets[0].names.zh_CN);
    // The options may also come before the command, as with most tools.
    const before = await cli(['--url', bff.url, '--api-key', TEST_KEYS.reader, 'assets', 'o1', 'u0005', '--lang', 'zh_CN'], '', {});
    expect([before.code, before.stderr, JSON.parse(before.stdout)]).toEqual([0, '', answer]);
    const checked = await cli(['--api-key=' + TEST_KEYS.reader, 'check', 'o1', 'u0005', 'o1-a0001'], '', { ASSET_BFF_URL: bff.url });
    expect(checked).toEqual({ code: 0, stdout: 'allowed\n', stderr: '' });
  });

  it('check prints allowed or denied', async () => {
    expect(await cli(['check', 'o1', 'u0005', 'o1-a0001'])).toEqual({ code: 0, stdout: 'allowed\n', stderr: '' });
    expect(await cli(['check', 'o1', 'u0005', 'o1-a0011'])).toEqual({ code: 0, stdout: 'denied\n', stderr: '' });
  });

  it('invalidate prints the consistency token of a user or OU invalidation', async () => {
    const admin = { ...env, ASSET_BFF_API_KEY: TEST_KEYS.admin };
    const one = await cli(['invalidate', 'o1', 'u0005'], '', admin);
    const all = await cli(['invalidate', 'o1'], '', admin);
    for (const r of [one, all]) {
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toMatch(/^\S+\n$/);
    }
    const read = await fetch(`${bff.url}/v1/orgs/o1/users/u0005/assets`, {
      headers: { 'x-api-key': TEST_KEYS.reader, 'x-consistency-token': all.stdout.trim() },
    });
    expect(read.status).toBe(200);
  });

  it('exits 1 on an error from the service, its code on stderr', async () => {
    const forbidden = await cli(['invalidate', 'o1']);
    expect([forbidden.code, forbidden.stdout]).toEqual([1, '']);
    expect(forbidden.stderr).toMatch(/^asset-bff: FORBIDDEN \(403\): .* \[request \S+\]\n$/);
    const missing = await cli(['assets', 'o1', 'nobody']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^asset-bff: USER_NOT_FOUND \(404\)/);
    const down = await cli(['assets', 'o1', 'u0005'], '', { ...env, ASSET_BFF_URL: 'http://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^asset-bff: NETWORK_ERROR \(0\)/);
  });

  it('warm without a terminal prints one summary line (users from a file, or - for standard input)', async () => {
    const file = join(dir, 'users.txt');
    writeFileSync(file, `${users(1_200).join('\n')}\n\n`);
    const fromFile = await cli(['warm', 'o1', '--users', file]);
    expect([fromFile.code, fromFile.stderr]).toEqual([0, '']);
    expect(fromFile.stdout).toMatch(/^warm o1: 1200 users, 2500 assets in \d+\.\d s\n$/);
    const fromStdin = await cli(['warm', 'o2', '--users', '-'], 'u0101\nu0102\n');
    expect([fromStdin.code, fromStdin.stderr]).toEqual([0, '']);
    expect(fromStdin.stdout).toMatch(/^warm o2: 2 users, 10 assets in \d+\.\d s\n$/);
  });

  it('warm on a terminal (a pseudo-terminal from script(1)) draws the progress bar, then the summary line', async () => {
    const file = join(dir, 'tty-users.txt');
    writeFileSync(file, users(3_000).join('\n'));
    const command = [process.execPath, CLI, 'warm', 'o1', '--users', file].map((a) => `'${a}'`).join(' ');
    const r = await exec('script', ['-qefc', command, '/dev/null'], { ...env, TERM: 'xterm' });
    expect(r.code).toBe(0);
    // The terminal's control sequences (cursor moves, save/restore) stripped: what a person sees.
    // eslint-disable-next-line no-control-regex
    const screen = r.stdout.replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, '');
    expect(screen).toMatch(/warm o1 \[[█░]+\] 3000\/3000 users \| \d+ users\/s \| ETA /);
    expect(screen).toMatch(/warm o1: 3000 users, 2500 assets in \d+\.\d s\r?\n/);
  });
});
