import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BffHandle, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const ROOT = join(__dirname, '..', '..');
const LIB = join(ROOT, 'libs', 'asset-bff-client');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

/** Runs a command to its exit; rejects with its output when it fails. */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** A consumer in TypeScript without Node's types (as in a browser project): the shipped declarations type-check it. */
const CONSUMER_TS = `import { AssetBffClient, AssetBffError, UserAssets, UsersAssets } from '@asset-bff/client';
export async function use(baseUrl: string): Promise<number> {
  const c = new AssetBffClient({ baseUrl, token: () => 'user-token', maxRetries: 1 });
  const one: UserAssets = await c.myAssets({ limit: 10, q: 'x' });
  const many: UsersAssets = await c.usersAssets('o1', ['u1'], { resourceTypes: ['meter'] });
  const flat = await c.assetTree('key', { view: 'flat' });
  // @ts-expect-error limit is a number
  await c.userAssets('o1', 'u1', { limit: 'ten' });
  // @ts-expect-error a flat view has no root
  void flat.root;
  try {
    await c.invalidateOrg('o1');
  } catch (e) {
    if (e instanceof AssetBffError && e.code === 'RATE_LIMITED') return e.retryAfterS ?? 0;
  }
  return one.total + many.users.length + flat.nodes.length;
}
`;

/** The consumer in Node: the installed package against the running service. */
const CONSUMER_JS = `const { AssetBffClient, AssetBffError } = require('@asset-bff/client');
(async () => {
  const c = new AssetBffClient({ baseUrl: process.env.BFF_URL, apiKey: process.env.BFF_KEY });
  const pages = [];
  for await (const page of c.userAssetPages('o1', 'u0005', { limit: 4 })) pages.push(page.assets.length);
  const batch = await c.usersAssets('o1', ['u0005', 'u0006']);
  const denied = await c.userAsset('o1', 'u0005', 'o1-a0011').catch((e) => e instanceof AssetBffError && e.code);
  console.log(JSON.stringify({ pages, users: batch.users.length, assets: batch.assets.length, denied }));
})();
`;

/** Issue #26, "a package that installs": the tarball of `npm pack` installed into an empty project and used there. */
describe('@asset-bff/client as a package', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let dir: string;
  let project: string;
  let packed: { filename: string; files: { path: string }[] };

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(12), LOG_LEVEL: 'warn' } });
    dir = mkdtempSync(join(tmpdir(), 'asset-bff-client-pack-'));
    packed = JSON.parse((await run('npm', ['pack', '--json', '--pack-destination', dir], LIB)).stdout)[0];
    project = join(dir, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    // The tarball's own dependency (cli-progress) comes from npm's cache, which the repository's `npm ci` filled.
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, packed.filename)], project);
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('packs the built CommonJS, its declarations, the bin and the README, and no sources', () => {
    const files = packed.files.map((f) => f.path).sort();
    expect(files).toEqual(expect.arrayContaining(['README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'dist/generated/api.d.ts']));
    expect(files.filter((f) => !f.startsWith('dist/') && f !== 'README.md' && f !== 'package.json')).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules', '@asset-bff', 'client', 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: '@asset-bff/client', main: 'dist/index.js', types: 'dist/index.d.ts', bin: { 'asset-bff': 'dist/cli.js' } });
    expect(Object.keys(manifest.dependencies)).toEqual(['cli-progress']);
  });

  it('is required and used from the empty project against the running service', async () => {
    writeFileSync(join(project, 'use.js'), CONSUMER_JS);
    const { stdout } = await run(process.execPath, ['use.js'], project, { BFF_URL: bff.url, BFF_KEY: TEST_KEYS.reader });
    expect(JSON.parse(stdout)).toEqual({ pages: [4, 4, 2], users: 2, assets: 20, denied: 'ASSET_NOT_ACCESSIBLE' });
  });

  it('installs the asset-bff bin, which runs there', async () => {
    const bin = join(project, 'node_modules', '.bin', 'asset-bff');
    const { stdout } = await run(bin, ['check', 'o1', 'u0005', 'o1-a0001'], project, { ASSET_BFF_URL: bff.url, ASSET_BFF_API_KEY: TEST_KEYS.reader });
    expect(stdout).toBe('allowed\n');
  });

  it('type-checks a TypeScript consumer with the shipped declarations alone (no Node types)', async () => {
    writeFileSync(join(project, 'use.ts'), CONSUMER_TS);
    const tsconfig = {
      compilerOptions: { strict: true, noEmit: true, module: 'commonjs', moduleResolution: 'node', target: 'es2022', lib: ['es2022', 'dom'], types: [] },
    };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['use.ts'] }));
    await expect(run(TSC, ['-p', 'tsconfig.json'], project)).resolves.toEqual({ stdout: '', stderr: '' });
  });
});
