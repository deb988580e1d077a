import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BffHandle, startBff } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const ROOT = join(__dirname, '..', '..');
const LIB = join(ROOT, 'libs', 'asset-bff-client');
const REGENERATE =
  'the client no longer matches the service: run `npm run client:openapi` and commit libs/asset-bff-client/{openapi.json,src/generated/api.ts}';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { serialize } = require(join(ROOT, 'scripts', 'client-openapi.js')) as { serialize(doc: unknown): string };

/** Issue #26, "types that cannot drift": the client's committed document and types are those of the running service. */
describe('@asset-bff/client types and the running service', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let served: string;
  let dir: string;

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(12), LOG_LEVEL: 'warn' } });
    served = serialize(await (await fetch(`${bff.url}/docs-json`)).json());
    dir = mkdtempSync(join(tmpdir(), 'asset-bff-client-openapi-'));
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the OpenAPI document the service serves', () => {
    const committed = readFileSync(join(LIB, 'openapi.json'), 'utf8');
    if (committed !== served) throw new Error(REGENERATE);
    expect(committed).toBe(served);
  });

  it('keeps the types openapi-typescript makes of that document', () => {
    writeFileSync(join(dir, 'openapi.json'), served);
    execFileSync(join(ROOT, 'node_modules', '.bin', 'openapi-typescript'), [join(dir, 'openapi.json'), '-o', join(dir, 'api.ts')], { stdio: 'ignore' });
    const committed = readFileSync(join(LIB, 'src', 'generated', 'api.ts'), 'utf8');
    if (committed !== readFileSync(join(dir, 'api.ts'), 'utf8')) throw new Error(REGENERATE);
    expect(committed).toContain('"/v1/orgs/{orgId}/user-assets"');
  });
});
