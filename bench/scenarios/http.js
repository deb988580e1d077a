'use strict';
// HTTP features a caller meets on the main instance: a compressed hot read (Accept-Encoding: br, gzip) against
// baseline 1 answering the same compressed bytes, revalidating a 100,000-asset user with If-None-Match, and a
// 50,000-user batch as NDJSON against the same batch as JSON (first byte, total time, the service's RSS growth).
const http = require('node:http');
const Redis = require('ioredis');
const { cannon } = require('../lib/cannon');
const { simAdmin } = require('../lib/http');
const { BENCH_KEY, startBaseline, rssMb, cpuMs } = require('../lib/procs');
const { fmt } = require('../lib/report');
const { HOT_ORG, HOT_USERS, userIds, warm } = require('./setup');
const { warmPaths, SINGLE_LOAD_PROCESSES } = require('./hot');

const TARGETS = { brReadRatio: 1.0, revalidateBytesRatio: 100, ndjsonRssShare: 0.5 };
/** What browsers send; the service answers br. */
const BROWSER_ENCODING = { 'accept-encoding': 'br, gzip' };
const ROUNDS = 3;
const CONNECTIONS = 64;
const BR_BASELINE_KEY = 'bench:baseline:user-assets-br';
const BIG_USER_ASSETS = 100_000;
const REVALIDATIONS = 20;
const BATCH_ORG = 'bench-ndjson';
const BATCH_USERS = 50_000;
const BATCH_ORG_ASSETS = 2_000;
const BATCH_ASSETS_PER_USER = 20;
const RSS_SAMPLE_MS = 10;
/** Bytes kept of each answer's end: enough for the NDJSON end line ({"end": {users, assets, cache, consistencyToken}}, ~110 bytes). */
const TAIL_BYTES = 256;
/** The service counts as idle (its background stores done) once it used under SETTLE_CPU_MS in a SETTLE_WINDOW_MS. */
const SETTLE_WINDOW_MS = 500;
const SETTLE_CPU_MS = 20;
const SETTLE_MAX_MS = 30_000;

const auth = { 'x-api-key': BENCH_KEY };
/** Its own kept-alive connection, so that the timed reads do not open a new one (and its small TCP windows) each time. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One request read with node:http: status, headers, bytes received on the wire (head and body), ms to the first body
 * byte and to the last; the body is kept only when asked (its last TAIL_BYTES always, to check an NDJSON end line).
 */
function exchange(url, { method = 'GET', headers = {}, body, keep = false } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let socket;
    let start = 0;
    const req = http.request(url, {
      method,
      agent,
      headers: body ? { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : headers,
    });
    req.on('socket', (s) => ((socket = s), (start = s.bytesRead)));
    req.on('response', (res) => {
      let firstByteMs;
      let tail = Buffer.alloc(0);
      const chunks = [];
      res.on('data', (c) => {
        firstByteMs ??= performance.now() - t0;
        if (keep) chunks.push(c);
        tail = c.length >= TAIL_BYTES ? c.subarray(-TAIL_BYTES) : Buffer.concat([tail, c]).subarray(-TAIL_BYTES);
      });
      res.on('end', () => {
        const ms = performance.now() - t0;
        resolve({
          status: res.statusCode,
          headers: res.headers,
          wireBytes: socket.bytesRead - start,
          firstByteMs: firstByteMs ?? ms,
          ms,
          tail: tail.toString(),
          body: Buffer.concat(chunks),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Hot reads with Accept-Encoding: br, gzip against baseline 1 serving the same br bytes, and without the header. */
async function compressedRead(ctx, load) {
  const url = ctx.bffMain.url;
  const ids = userIds(HOT_ORG, HOT_USERS);
  const paths = ids.map((u) => `/v1/orgs/${HOT_ORG}/users/${u}/assets`);
  // loaded afresh: entries near the end of CACHE_TTL_S would be refreshed from the portal during the runs
  await warm(url, HOT_ORG, ids, { 'cache-control': 'no-cache' });
  await warmPaths(url, paths, 32, BROWSER_ENCODING);
  await warmPaths(url, paths);
  const sample = await exchange(url + paths[0], { headers: { ...auth, ...BROWSER_ENCODING }, keep: true });
  if (sample.status !== 200 || sample.headers['content-encoding'] !== 'br')
    throw new Error(`br sample: ${sample.status} ${sample.headers['content-encoding']}`);
  const r = new Redis(ctx.redis.url);
  await r.set(BR_BASELINE_KEY, sample.body);
  r.disconnect();
  // baseline 1 as in hot.js, answering the service's br bytes (without a Content-Encoding header: autocannon does not decode)
  const b1 = await startBaseline('bare-redis.js', { REDIS_URL: ctx.redis.url, KEY: BR_BASELINE_KEY });
  const runs = { br: [], baseline: [], identity: [] };
  try {
    const check = await exchange(b1.url + paths[0], { keep: true });
    if (!check.body.equals(sample.body)) throw new Error('baseline 1 does not answer the same br bytes');
    const step = (name, base, headers) => async () => {
      const res = await cannon({ ...load, connections: CONNECTIONS, processes: SINGLE_LOAD_PROCESSES, url: base, paths, headers });
      if (res.non2xx || res.errors || res.timeouts) throw new Error(`http ${name}: ${res.non2xx} non-2xx, ${res.errors} errors, ${res.timeouts} timeouts`);
      runs[name].push(res);
    };
    const steps = [step('br', url, { ...auth, ...BROWSER_ENCODING }), step('baseline', b1.url, {}), step('identity', url, auth)];
    for (let round = 0; round < ROUNDS; round++) for (const s of round % 2 ? [...steps].reverse() : steps) await s();
  } finally {
    await b1.stop();
  }
  const pick = (rs) => rs.find((x) => x.reqPerSec === median(rs.map((y) => y.reqPerSec)));
  const ratios = (other) => runs.br.map((x, i) => x.reqPerSec / runs[other][i].reqPerSec);
  const [br, baseline, identity] = [pick(runs.br), pick(runs.baseline), pick(runs.identity)];
  return { brBytes: sample.body.length, br, baseline, identity, baselineRatio: median(ratios('baseline')), identityRatio: median(ratios('identity')) };
}

/** A 100,000-asset user read in full and revalidated with If-None-Match, alternately. */
async function revalidation(ctx) {
  const user = `http-big-${Date.now()}`;
  const url = `${ctx.bffMain.url}/v1/orgs/o1/users/${user}/assets`;
  await simAdmin(ctx.sim, 'POST', '/orgs/o1/users', { userId: user, assetCount: BIG_USER_ASSETS });
  try {
    const first = await exchange(url, { headers: auth });
    if (first.status !== 200 || !first.headers.etag) throw new Error(`big user read: ${first.status}, etag ${first.headers.etag}`);
    const full = [];
    const cond = [];
    for (let k = 0; k < REVALIDATIONS; k++) {
      full.push(await exchange(url, { headers: auth }));
      cond.push(await exchange(url, { headers: { ...auth, 'if-none-match': first.headers.etag } }));
    }
    const notModified = cond.filter((c) => c.status === 304).length;
    const bytes = (rs) => median(rs.map((r) => r.wireBytes));
    const ms = (rs) => median(rs.map((r) => r.ms));
    return { firstXCache: first.headers['x-cache'], fullBytes: bytes(full), condBytes: bytes(cond), fullMs: ms(full), condMs: ms(cond), notModified };
  } finally {
    await simAdmin(ctx.sim, 'DELETE', `/orgs/o1/users/${user}`);
  }
}

/** Waits until the service is idle (a batch's background store done), at most SETTLE_MAX_MS. */
async function settle(pid) {
  const until = Date.now() + SETTLE_MAX_MS;
  while (Date.now() < until) {
    const c0 = cpuMs(pid);
    await sleep(SETTLE_WINDOW_MS);
    if (cpuMs(pid) - c0 < SETTLE_CPU_MS) return;
  }
}

/** One 50,000-user batch, upstream (no-cache), with the service's RSS sampled every RSS_SAMPLE_MS. */
async function timedBatch(ctx, body, ndjson) {
  const pid = ctx.bffMain.pid;
  await settle(pid);
  const before = rssMb(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid) ?? 0)), RSS_SAMPLE_MS);
  const headers = { ...auth, 'cache-control': 'no-cache', ...(ndjson ? { accept: 'application/x-ndjson' } : {}) };
  try {
    const r = await exchange(`${ctx.bffMain.url}/v1/orgs/${BATCH_ORG}/user-assets`, { method: 'POST', headers, body });
    if (r.status !== 200 || (ndjson && !r.tail.includes('{"end"'))) throw new Error(`batch (${ndjson ? 'ndjson' : 'json'}): ${r.status} ...${r.tail}`);
    return { firstByteMs: r.firstByteMs, ms: r.ms, wireBytes: r.wireBytes, rssGrowthMb: Math.max(peak, rssMb(pid) ?? 0) - before };
  } finally {
    clearInterval(timer);
  }
}

/** The batch as NDJSON and as JSON, alternated (the order flipped each pair), after one untimed batch. */
async function ndjsonBatch(ctx) {
  try {
    await simAdmin(ctx.sim, 'POST', '/orgs', { orgId: BATCH_ORG, assetCount: BATCH_ORG_ASSETS, userCount: BATCH_USERS, assetsPerUser: BATCH_ASSETS_PER_USER });
  } catch (e) {
    if (!/-> 409 /.test(e.message)) throw e;
  }
  const body = JSON.stringify({ userIds: userIds(BATCH_ORG, BATCH_USERS) });
  // the simulator encodes each user's list on the first call naming it: that call is not timed
  await timedBatch(ctx, body, false);
  const runs = { ndjson: [], json: [] };
  for (let k = 0; k < ROUNDS; k++) {
    for (const nd of k % 2 ? [false, true] : [true, false]) runs[nd ? 'ndjson' : 'json'].push(await timedBatch(ctx, body, nd));
  }
  const med = (rs) => Object.fromEntries(Object.keys(rs[0]).map((k) => [k, median(rs.map((r) => r[k]))]));
  return { ndjson: med(runs.ndjson), json: med(runs.json), runs };
}

async function run(ctx, load) {
  return { compressed: await compressedRead(ctx, load), revalidation: await revalidation(ctx), batch: await ndjsonBatch(ctx) };
}

/** The result table's rows for bench/run.js. */
function rows(t) {
  const { compressed: c, revalidation: v, batch: b } = t;
  const s1 = `hot single-user read with Accept-Encoding: br, gzip (${CONNECTIONS} conn, ${fmt(HOT_USERS)} users)`;
  const s2 = `revalidating a ${fmt(BIG_USER_ASSETS)}-asset user with If-None-Match (${REVALIDATIONS} reads each)`;
  const s3 = `batch of ${fmt(BATCH_USERS)} users (no-cache), NDJSON vs JSON (median of ${ROUNDS})`;
  const bytesRatio = v.fullBytes / Math.max(1, v.condBytes);
  const ok = v.notModified === REVALIDATIONS;
  const rssShare = b.ndjson.rssGrowthMb / Math.max(0.1, b.json.rssGrowthMb);
  const row = (scenario, figure, value, target, met) => ({ scenario, figure, value, target, met });
  const x = (r) => `${fmt(r, 2)}x`;
  const three = (f) => [c.br, c.baseline, c.identity].map(f).join(' / ');
  const [rps, p99] = [three((r) => fmt(r.reqPerSec)), three((r) => fmt(r.latencyMs.p99))];
  const brTarget = `>= ${x(TARGETS.brReadRatio)} baseline 1`;
  return [
    row(s1, 'req/s br / baseline 1 (same br bytes) / no Accept-Encoding', rps),
    row(s1, 'p99 ms br / baseline 1 / no Accept-Encoding', p99),
    row(s1, `req/s ratio to baseline 1 (median of ${ROUNDS} rounds)`, x(c.baselineRatio), brTarget, c.baselineRatio >= TARGETS.brReadRatio),
    row(s1, 'req/s ratio with / without Accept-Encoding (median round)', x(c.identityRatio)),
    row(s2, 'bytes received per read: full / If-None-Match', `${fmt(v.fullBytes)} / ${fmt(v.condBytes)} (${v.notModified} of ${REVALIDATIONS} x 304)`),
    row(s2, 'median ms: full / If-None-Match', `${fmt(v.fullMs, 1)} / ${fmt(v.condMs, 1)}`),
    row(s2, 'bytes ratio full / If-None-Match', `${fmt(bytesRatio)}x`, `>= ${TARGETS.revalidateBytesRatio}x`, ok && bytesRatio >= TARGETS.revalidateBytesRatio),
    row(s3, 'first byte ms NDJSON / JSON', `${fmt(b.ndjson.firstByteMs)} / ${fmt(b.json.firstByteMs)}`, 'NDJSON well before JSON (reported)'),
    row(s3, 'total ms NDJSON / JSON', `${fmt(b.ndjson.ms)} / ${fmt(b.json.ms)}`),
    row(s3, 'service peak RSS growth MB NDJSON / JSON', `${fmt(b.ndjson.rssGrowthMb, 1)} / ${fmt(b.json.rssGrowthMb, 1)}`),
    row(s3, 'RSS growth ratio NDJSON / JSON', x(rssShare), `<= ${x(TARGETS.ndjsonRssShare)}`, rssShare <= TARGETS.ndjsonRssShare),
  ];
}

module.exports = { run, rows };
