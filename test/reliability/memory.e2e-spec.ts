import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BffHandle, startBff, TEST_KEYS } from '../support/bff';
import { rawCall } from '../support/raw-http';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const ORG = 'o-mem';
const USERS = 300;
const ASSETS = 60;

/** How many strings of the service's heap equal `value`, from a heap snapshot it wrote (V8's JSON format). */
function stringCount(snapshotFile: string, value: string): number {
  const s = JSON.parse(readFileSync(snapshotFile, 'utf8'));
  const fields: string[] = s.snapshot.meta.node_fields;
  const typeNames: string[] = s.snapshot.meta.node_types[0];
  const [typeAt, nameAt, width] = [fields.indexOf('type'), fields.indexOf('name'), fields.length];
  const stringType = typeNames.indexOf('string');
  let n = 0;
  for (let i = 0; i < s.nodes.length; i += width) if (s.nodes[i + typeAt] === stringType && s.strings[s.nodes[i + nameAt]] === value) n++;
  return n;
}

async function snapshotOf(bff: BffHandle, dir: string): Promise<string> {
  bff.proc.kill('SIGUSR2');
  // The file appears when writing starts; it is complete once the service answers again and its size holds.
  for (let last = -1; ;) {
    await new Promise((r) => setTimeout(r, 250));
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot'));
    if (!file) continue;
    const size = statSync(join(dir, file)).size;
    const alive = await rawCall(`${bff.url}/health/live`, 'GET', {});
    if (alive.status === 200 && size === last) return join(dir, file);
    last = size;
  }
}

/**
 * What a hot read keeps in memory: a prepared answer holds its bytes, not the upstream load it was made from (a
 * closure sharing the load's scope once kept every load's asset details alive as long as the answer).
 */
describe('memory kept per cached user', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  const dir = mkdtempSync(join(tmpdir(), 'abff-heap-'));

  beforeAll(async () => {
    sim = await startSim();
    await sim.admin.createOrg({ orgId: ORG, assetCount: ASSETS, userCount: USERS, assetsPerUser: ASSETS });
    bff = await startBff({
      sim,
      env: { REDIS_URL: await cleanRedisDb(9), NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}` },
    });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps one copy of an asset detail however many users were read one by one', async () => {
    const users = (await sim.admin.org(ORG)).userAssetCounts.map((u) => u.userId);
    expect(users).toHaveLength(USERS);
    let name = '';
    for (const userId of users) {
      const r = await rawCall(`${bff.url}/v1/orgs/${ORG}/users/${userId}/assets`, 'GET', { 'x-api-key': TEST_KEYS.admin });
      expect(r.status).toBe(200);
      const body = JSON.parse(r.raw.toString('utf8'));
      expect(body.assets).toHaveLength(ASSETS);
      name ||= body.assets[0].name;
    }
    const counters = await sim.admin.counters();
    expect(counters.endpoints.assetList.calls).toBe(USERS);
    // Every user's answer holds the same asset; its name string was parsed once per load, so a count near USERS
    // would mean every load is still alive.
    const copies = stringCount(await snapshotOf(bff, dir), name);
    expect(copies).toBeGreaterThanOrEqual(1);
    expect(copies).toBeLessThan(USERS / 10);
  });
});
