import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnswerKind, AnswerWorkers, readAnswer, WORKER_MIN_BYTES } from '@app/portal-client';
import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

/** The worker as the service runs it: compiled by `npm test`'s build before jest starts. */
const WORKER = join(__dirname, '../../dist/libs/portal-client/src/answer-worker.js');

const names = (i: number) => ({ default: `Asset ${i}`, en_US: `Asset ${i}`, zh_CN: `资产 ${i} 号`, ja_JP: i % 3 ? `アセット ${i}` : '' });
const page = (n: number, from = 0) =>
  Buffer.from(
    JSON.stringify({
      code: 0,
      msg: 'OK',
      data: {
        pagination: { pageNo: 0, pageSize: n, totalElements: n },
        assets: Array.from({ length: n }, (_, i) => ({ id: `a${from + i}`, name: names(from + i), extra: 'x' })),
      },
    }),
  );
const env = (data: unknown, code = 0) => Buffer.from(JSON.stringify({ code, message: 'OK', data }));
/** What reading on this thread gives (the worker's bytes are handed over: it gets a copy). */
const here = (kind: AnswerKind, b: Buffer) => readAnswer(kind, Buffer.from(b));
/** A worker's result compared as plain data (its objects come from outside jest's realm). */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v) ?? 'null');

describe('answer workers: portal answers read on worker threads', () => {
  const pools: AnswerWorkers[] = [];
  const pool = (size: number, file = WORKER, events?: ConstructorParameters<typeof AnswerWorkers>[2]) => {
    // Every answer goes to a thread unless a test sets minBytes.
    const p = new AnswerWorkers(size, file, { minBytes: 0, ...events });
    pools.push(p);
    return p;
  };
  afterAll(async () => {
    for (const p of pools) await p.close();
  });

  it('gives what reading on this thread gives, for any answer (fast-check): pages, users answers, error envelopes, text, malformed data', async () => {
    const p = pool(2);
    expect(p.running).toBe(0);
    p.start();
    expect(p.running).toBe(2);
    const i18n = fc.dictionary(fc.constantFrom('default', 'en', 'en_US', 'zh_CN', 'ja_JP'), fc.oneof(fc.string(), fc.fullUnicodeString(), fc.constant(null)));
    const id = fc.oneof(fc.string({ minLength: 1 }), fc.fullUnicodeString({ minLength: 1 }));
    const pageData = fc.record({
      pagination: fc.record({ totalElements: fc.oneof(fc.nat(), fc.integer(), fc.constant('x')) }),
      assets: fc.array(fc.record({ id: fc.oneof(id, fc.constant('')), name: fc.oneof(i18n, fc.constant(null)) }, { requiredKeys: ['name'] })),
    });
    const usersData = fc.record(
      {
        usersUserAssets: fc.array(fc.record({ userId: id, userAssetIds: fc.array(fc.oneof(id, fc.integer())) }, { requiredKeys: ['userId'] })),
        userAssets: fc.array(fc.record({ id, name: i18n, type: fc.string(), typeName: fc.oneof(i18n, fc.constant(null)) }, { requiredKeys: ['id'] })),
      },
      { requiredKeys: [] },
    );
    const answer = fc.oneof(
      fc.tuple(fc.constantFrom(0, 200), fc.oneof(pageData, usersData, fc.jsonValue())).map(([code, data]) => env(data, code)),
      fc.constantFrom(31404, 31400, 1203).map((code) => Buffer.from(JSON.stringify({ code, message: 'no' }))),
      fc.fullUnicodeString().map((t) => Buffer.from(t)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<AnswerKind>('assetList', 'usersAssetList'), answer, async (kind, bytes) => {
        const expected = here(kind, bytes);
        expect(plain(await p.decode(kind, bytes))).toEqual(plain(expected));
      }),
      { numRuns: 300 },
    );
    // large answers, several at once
    const users = env({
      usersUserAssets: Array.from({ length: 1_000 }, (_, u) => ({
        userId: `u${u}`,
        userAssetIds: Array.from({ length: 50 }, (_, i) => `a${(u * 7 + i) % 400}`),
      })),
      userAssets: [],
    });
    const inputs: [AnswerKind, Buffer][] = [
      ['assetList', page(1_000)],
      ['assetList', page(0)],
      ['usersAssetList', users],
    ];
    const got = await Promise.all(inputs.map(([k, b]) => p.decode(k, Buffer.from(b))));
    expect(got.map(plain)).toEqual(inputs.map(([k, b]) => plain(here(k, b))));
    expect((got[0] as { data: { assets: unknown[] } }).data.assets).toHaveLength(1_000);
    expect(p.running).toBe(2);
  });

  it('names what is malformed as this thread does', async () => {
    const p = pool(1);
    const inputs = [
      env('text'),
      env({ usersUserAssets: {} }),
      env({ usersUserAssets: [{ userAssetIds: [] }] }),
      env({ usersUserAssets: [{ userId: 'u', userAssetIds: ['a', 7] }] }),
      env({ usersUserAssets: [], userAssets: [{ name: {} }] }),
    ];
    const got = await Promise.all(inputs.map((b) => p.decode('usersAssetList', b)));
    expect(got.map((e) => (e as { data: unknown }).data)).toEqual([
      'data is not an object',
      'usersUserAssets/userAssets are not lists',
      'user entry without userId',
      'userAssetIds is not a list of ids',
      'asset entry without id',
    ]);
    expect(((await p.decode('assetList', env({ pagination: { totalElements: 1 }, assets: [{ name: {} }] }))) as { data: unknown }).data).toBe(
      'asset without id',
    );
  });

  it('hands the bytes over instead of copying them: a buffer of its own is detached, a shared one is copied first', async () => {
    const p = pool(1);
    const own = Buffer.from(new Uint8Array(page(100)).buffer);
    expect(own.byteLength).toBe(own.buffer.byteLength);
    const expected = here('assetList', own);
    expect(plain(await p.decode('assetList', own))).toEqual(plain(expected));
    expect(own.buffer.byteLength).toBe(0);
    // a small Buffer shares its memory (Buffer's pool) with others: those are left alone
    const small = Buffer.from('{"code":31404}');
    const neighbour = Buffer.from('untouched');
    expect(small.buffer).toBe(neighbour.buffer);
    expect(await p.decode('assetList', small)).toEqual({ code: 31404 });
    expect(small.toString()).toBe('{"code":31404}');
    expect(neighbour.toString()).toBe('untouched');
  });

  it('reads answers shorter than minBytes on this thread (their bytes are not handed over), longer ones on a thread', async () => {
    const p = pool(1, WORKER, { minBytes: 4096 });
    const short = Buffer.from(new Uint8Array(page(5)).buffer);
    const long = Buffer.from(new Uint8Array(page(100)).buffer);
    expect(short.byteLength).toBeLessThan(4096);
    expect(long.byteLength).toBeGreaterThanOrEqual(4096);
    const [expectShort, expectLong] = [here('assetList', short), here('assetList', long)];
    expect(await p.decode('assetList', short)).toEqual(expectShort);
    expect(short.buffer.byteLength).toBeGreaterThan(0);
    expect(plain(await p.decode('assetList', long))).toEqual(plain(expectLong));
    expect(long.buffer.byteLength).toBe(0);
    expect(WORKER_MIN_BYTES).toBeGreaterThan(0);
  });

  it('rejects the answers a worker held when it dies (the client then asks again), and starts a new worker for the next', async () => {
    // A worker file that dies on its first answer the first time it runs, and is the real worker afterwards.
    const dir = mkdtempSync(join(tmpdir(), 'abff-aw-'));
    const file = join(dir, 'dying-worker.js');
    writeFileSync(
      file,
      `const fs = require('node:fs');
       if (fs.existsSync(__filename + '.died')) require(${JSON.stringify(WORKER)});
       else { fs.writeFileSync(__filename + '.died', ''); require('node:worker_threads').parentPort.on('message', () => process.exit(3)); }`,
    );
    const seen: string[] = [];
    const p = pool(1, file, { onChange: (n) => seen.push(`running ${n}`), onLost: () => seen.push('lost') });
    const first = await Promise.allSettled([p.decode('assetList', page(1_000)), p.decode('assetList', page(10, 5_000))]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(p.running).toBe(0);
    expect(plain(await p.decode('assetList', page(10, 5_000)))).toEqual(plain(here('assetList', page(10, 5_000))));
    expect(p.running).toBe(1);
    expect(seen).toEqual(['running 1', 'lost', 'running 0', 'running 1']);
  });

  it('gives no decoder with no threads (the portal client then reads the answers itself)', () => {
    expect(pool(0).decoder).toBeUndefined();
    expect(pool(1).decoder).toBeDefined();
  });

  it('finishes the answers in flight when closed, and reads every answer after on this thread', async () => {
    const p = pool(1);
    const pages = [page(1_000), page(1_000, 1_000), page(5)];
    const expected = pages.map((b) => plain(here('assetList', b)));
    const pending = pages.map((b) => p.decode('assetList', b));
    await p.close();
    expect((await Promise.all(pending)).map(plain)).toEqual(expected);
    expect(p.running).toBe(0);
    expect(plain(await p.decode('assetList', page(5)))).toEqual(expected[2]);
    expect(p.running).toBe(0);
  });
});

describe('page workers in the service: the same answers with and without them', () => {
  let sim: SimHandle;
  let withWorkers: BffHandle;
  let mainThread: BffHandle;
  const key = TEST_KEYS.admin;

  beforeAll(async () => {
    sim = await startSim();
    await sim.admin.createOrg({ orgId: 'o-pw', assetCount: 3_500 });
    await sim.admin.createUser('o-pw', { userId: 'many', assetCount: 3_500 });
    await sim.admin.createUser('o-pw', { userId: 'few', assetCount: 3 });
    await sim.admin.createOrg({ orgId: 'o-pw-b', assetCount: 300, userCount: 250, assetsPerUser: 20 });
    // PAGE_WORKERS left at its default: two threads (the metrics below say so).
    withWorkers = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(6), PORTAL_PAGE_SIZE: '1000', PORTAL_BATCH_SIZE: '100' } });
    mainThread = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(7), PORTAL_PAGE_SIZE: '1000', PORTAL_BATCH_SIZE: '100', PAGE_WORKERS: '0' } });
  });
  afterAll(async () => {
    await withWorkers?.stop();
    await mainThread?.stop();
    await sim?.stop();
  });

  it('answers cold reads byte for byte alike in every language, and the stored entries alike too', async () => {
    for (const lang of ['zh-CN', 'ja', 'en-US', undefined]) {
      for (const user of ['many', 'few', 'ghost']) {
        const path = `/v1/orgs/o-pw/users/${user}/assets${lang ? `?lang=${lang}` : ''}`;
        const headers = { 'cache-control': 'no-cache' };
        const [a, b] = await Promise.all([call(withWorkers.url, 'GET', path, { key, headers }), call(mainThread.url, 'GET', path, { key, headers })]);
        expect(a.status).toBe(b.status);
        // Problem answers differ only in their request id.
        const strip = (t: string) => t.replace(/"requestId":"[^"]*"/, '');
        expect(strip(a.text)).toBe(strip(b.text));
        if (user === 'ghost') expect(a.body.code).toBe('USER_NOT_FOUND');
        if (user === 'many') expect(a.body.assets).toHaveLength(3_500);
      }
    }
    const metrics = (await call(withWorkers.url, 'GET', '/metrics')).text;
    expect(metrics).toMatch(/^abff_page_workers 2$/m);
    expect(metrics).toMatch(/^abff_page_worker_losses_total 0$/m);
    expect((await call(mainThread.url, 'GET', '/metrics')).text).toMatch(/^abff_page_workers 0$/m);
    // One asset read from what the worker path stored (its details, names parsed after the answer).
    const one = await call(withWorkers.url, 'GET', '/v1/orgs/o-pw/users/many/assets', { key });
    const id = one.body.assets[1_234].id as string;
    const [a, b] = await Promise.all([
      call(withWorkers.url, 'GET', `/v1/orgs/o-pw/users/many/assets/${id}?lang=zh-CN`, { key }),
      call(mainThread.url, 'GET', `/v1/orgs/o-pw/users/many/assets/${id}?lang=zh-CN`, { key }),
    ]);
    expect(a.status).toBe(200);
    expect(a.text).toBe(b.text);
  });

  it('answers cold batches (users/assetList in chunks) byte for byte alike, and the stored entries alike too', async () => {
    const seeded = (await sim.admin.org('o-pw-b')).userAssetCounts.map((u) => u.userId);
    const userIds = [...seeded].reverse().concat(['ghost', seeded[3]]);
    for (const lang of ['zh-CN', 'ja', undefined]) {
      const path = `/v1/orgs/o-pw-b/user-assets${lang ? `?lang=${lang}` : ''}`;
      await sim.admin.resetCounters();
      const cold = await Promise.all(
        [withWorkers, mainThread].map((b) => call(b.url, 'POST', path, { key, body: { userIds }, headers: { 'cache-control': 'no-cache' } })),
      );
      // 251 distinct users in chunks of 100, for each service
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(6);
      expect(cold.map((r) => r.status)).toEqual([200, 200]);
      expect(cold[0].text).toBe(cold[1].text);
      expect(cold[0].body.users).toHaveLength(251);
      expect(cold[0].body.users[250]).toEqual({ userId: 'ghost', assetIds: [] });
      await sim.admin.resetCounters();
      const cached = await Promise.all([withWorkers, mainThread].map((b) => call(b.url, 'POST', path, { key, body: { userIds } })));
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(0);
      expect(cached[0].text).toBe(cold[0].text);
      expect(cached[1].text).toBe(cold[1].text);
      // Cached users between loaded ones: still the same bytes.
      for (const b of [withWorkers, mainThread])
        for (const u of [seeded[0], seeded[100], seeded[249]])
          expect((await call(b.url, 'DELETE', `/v1/orgs/o-pw-b/users/${u}/cache`, { key })).status).toBe(204);
      await sim.admin.resetCounters();
      const mixed = await Promise.all([withWorkers, mainThread].map((b) => call(b.url, 'POST', path, { key, body: { userIds } })));
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(2);
      expect(mixed[0].text).toBe(cold[0].text);
      expect(mixed[1].text).toBe(cold[1].text);
    }
  });

  it('sends answers of over 1 MB with their length, byte for byte one JSON.stringify', async () => {
    await sim.admin.createOrg({ orgId: 'o-pw-l', assetCount: 8_000 });
    await sim.admin.createUser('o-pw-l', { userId: 'huge', assetCount: 8_000 });
    await sim.admin.createOrg({ orgId: 'o-pw-lb', assetCount: 400, userCount: 2_500, assetsPerUser: 40 });
    const userIds = (await sim.admin.org('o-pw-lb')).userAssetCounts.map((u) => u.userId);
    const reads: [string, string, unknown][] = [
      ['GET', '/v1/orgs/o-pw-l/users/huge/assets?lang=zh-CN', undefined],
      ['POST', '/v1/orgs/o-pw-lb/user-assets', { userIds: [...userIds, 'ghost'] }],
    ];
    for (const [method, path, body] of reads) {
      const texts: string[] = [];
      // identity: the length announced is then the length of the JSON text (fetch would otherwise ask for br and decode it).
      const plain = { 'accept-encoding': 'identity' };
      const cold: Record<string, string> = { ...plain, 'cache-control': 'no-cache' };
      for (const headers of [cold, plain]) {
        const rs = await Promise.all([withWorkers, mainThread].map((b) => call(b.url, method, path, { key, body, headers })));
        for (const r of rs) {
          expect(r.status).toBe(200);
          // over 1 MB, and exactly the length announced
          expect(Buffer.byteLength(r.text)).toBeGreaterThan(1024 * 1024);
          expect(r.headers.get('content-length')).toBe(String(Buffer.byteLength(r.text)));
          expect(r.headers.get('transfer-encoding')).toBeNull();
          expect(JSON.stringify(r.body)).toBe(r.text);
          texts.push(r.text);
        }
      }
      // cold and cached (the memo for the user, the cache for the batch), with and without workers: the same bytes
      expect(new Set(texts).size).toBe(1);
      const answer = JSON.parse(texts[0]);
      if (method === 'GET') expect(answer.assets).toHaveLength(8_000);
      else {
        expect(answer.users).toHaveLength(2_501);
        expect(answer.users[2_500]).toEqual({ userId: 'ghost', assetIds: [] });
        expect(answer.users[0].assetIds).toHaveLength(40);
      }
    }
  });

  it('refuses PAGE_WORKERS out of range at boot, naming it', async () => {
    const bad = await startBff({ sim, env: { PAGE_WORKERS: '9' }, expectListen: false });
    expect(bad.proc.exitCode).not.toBe(0);
    expect(bad.output()).toMatch(/PAGE_WORKERS/);
  });
});
