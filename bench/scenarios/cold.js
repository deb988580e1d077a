'use strict';
// Cold scenarios: nothing cached, simulator latency injected. Upstream calls counted by the simulator.
const { bff, simAdmin, request, agent } = require('../lib/http');
const { BENCH_KEY, cpuMs } = require('../lib/procs');
const { userIds } = require('./setup');
const { leanRequest, reserve, closeAll } = require('../lib/lean-read');
const Redis = require('ioredis');
// The service's own key builder, from the build the bench measures.
const { CacheKeys, scopeId } = require('../../dist/libs/asset-cache/src/keys');

const KEYS = new CacheKeys();

const LATENCY_MS = 50;
const STAMPEDE_READS = 1_000;
const BIG_USER_ASSETS = 100_000;
const PAGE_SIZE = 1_000;
const COLD_ORG = 'bench-cold';
const COLD_USERS = 10_000;
const COLD_ASSETS_PER_USER = 50;
const REPEATS = 5;
/** Uncontended single calls timed for the cold batch's ideal (the shortest is taken). */
const SINGLE_CALLS = 3;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

async function setLatency(sim, ms) {
  await simAdmin(sim, 'DELETE', '/faults');
  if (ms > 0) {
    const latencyAt = process.env.BENCH_LATENCY_AT || 'answer';
    await simAdmin(sim, 'PUT', '/faults/assetList', { latencyMs: ms, latencyAt });
    await simAdmin(sim, 'PUT', '/faults/usersAssetList', { latencyMs: ms, latencyAt });
  }
}

/**
 * A timed read of the service: on its own connection, its answer read into reused buffers (see lib/lean-read), so
 * that the driver's memory does not take the two cores' time inside the timed window.
 */
function timedBff(base, method, path, body, headers = {}) {
  return leanRequest(base + path, { method, body, headers: { 'x-api-key': BENCH_KEY, ...headers } });
}

async function counted(sim, fn) {
  await simAdmin(sim, 'POST', '/counters/reset');
  const t0 = performance.timeOrigin + performance.now();
  const result = await fn();
  const t1 = performance.timeOrigin + performance.now();
  const c = await simAdmin(sim, 'GET', '/counters');
  const calls = c.endpoints.assetList.calls + c.endpoints.usersAssetList.calls;
  return { result, calls, counters: c, timeline: timeline(c.log, t0, t1) };
}

/**
 * Where the wall time went, from the simulator's call log (epoch ms on the same machine): first call
 * sent, last upstream answer, what came after it (the service's own work and the response transfer),
 * and how many calls were in flight at most.
 */
function timeline(log, t0, t1) {
  const calls = log.filter((l) => l.endpoint === 'assetList' || l.endpoint === 'usersAssetList');
  if (!calls.length) return undefined;
  const first = Math.min(...calls.map((l) => l.startedAt));
  const last = Math.max(...calls.map((l) => l.finishedAt));
  const edges = calls
    .flatMap((l) => [
      [l.startedAt, 1],
      [l.finishedAt, -1],
    ])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let maxInFlight = 0;
  for (const [, d] of edges) maxInFlight = Math.max(maxInFlight, (inFlight += d));
  const r = (x) => Math.round(x);
  return { firstCallAtMs: r(first - t0), lastAnswerAtMs: r(last - t0), afterLastAnswerMs: r(t1 - last), upstreamSpanMs: r(last - first), maxInFlight };
}

/** 1,000 concurrent reads of one cold user, split over two instances sharing Redis. */
async function stampede(ctx) {
  const { sim, bffMain, bffSecond } = ctx;
  const user = `stampede-${Date.now()}`;
  await simAdmin(sim, 'POST', '/orgs/bench/users', { userId: user, assetCount: 50 });
  await setLatency(sim, LATENCY_MS);
  const t0 = Date.now();
  const {
    result,
    calls,
    counters,
    timeline: tl,
  } = await counted(sim, () =>
    Promise.all(
      Array.from({ length: STAMPEDE_READS }, (_, i) =>
        request(`${(i % 2 ? bffSecond : bffMain).url}/v1/orgs/bench/users/${user}/assets`, { headers: { 'x-api-key': BENCH_KEY } }),
      ),
    ),
  );
  const wallMs = Date.now() - t0;
  await setLatency(sim, 0);
  const statuses = {};
  for (const r of result) statuses[r.status] = (statuses[r.status] || 0) + 1;
  const cache = {};
  for (const r of result) cache[r.headers['x-cache']] = (cache[r.headers['x-cache']] || 0) + 1;
  agent.destroy(); // drop the 1,000 idle sockets
  return {
    reads: STAMPEDE_READS,
    instances: 2,
    upstreamCalls: calls,
    byEndpoint: { assetList: counters.endpoints.assetList.calls, usersAssetList: counters.endpoints.usersAssetList.calls },
    statuses,
    xCache: cache,
    wallMs,
    timeline: tl,
  };
}

/** Waits (at most 10 s) until no instance holds the user's cache lock (all types, OU o1); returns how long that took. */
async function backgroundStoreDone(watch, user) {
  // The key as the service builds it (the bench leaves the key prefix at its default).
  const lock = KEYS.lock('o1', scopeId(undefined), user);
  const t0 = Date.now();
  while (Date.now() - t0 < 10_000) {
    if ((await watch.exists(lock)) === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
}

/** The user's stored entry (all types) in the OU (null when there is none). */
function entryOf(watch, orgId, user) {
  return watch.get(KEYS.userSet(orgId, scopeId(undefined), user));
}

/**
 * Waits (at most 10 s) until the user's entry (all types) in the OU differs from `before`: a large batch stores its
 * users after answering, the last user last; returns how long that took.
 */
async function entryReplaced(watch, orgId, user, before) {
  const t0 = Date.now();
  while (Date.now() - t0 < 10_000) {
    if ((await entryOf(watch, orgId, user)) !== before) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}

/** One user with 100,000 assets (100 pages of 1,000), 50 ms per page: wall time against the ideal. */
async function orgMerge(ctx) {
  const { sim, bffMain, config } = ctx;
  await setLatency(sim, LATENCY_MS);
  const runs = [];
  try {
    for (let k = 0; k < REPEATS; k++) {
      const user = `big-${Date.now()}-${k}`;
      await simAdmin(sim, 'POST', '/orgs/o1/users', { userId: user, assetCount: BIG_USER_ASSETS });
      const cpu0 = cpuMs(bffMain.pid);
      const { result: r, calls, counters, timeline: tl } = await counted(sim, () => timedBff(bffMain.url, 'GET', `/v1/orgs/o1/users/${user}/assets`));
      if (r.status !== 200) throw new Error(`org merge read: ${r.status} ${r.text.slice(0, 200)}`);
      const total = JSON.parse(r.text).total;
      const first = counters.log.find((l) => l.endpoint === 'assetList' && l.pageNo === 0);
      const firstPageMs = first ? first.finishedAt - first.startedAt : LATENCY_MS;
      const pages = Math.ceil(BIG_USER_ASSETS / PAGE_SIZE);
      const idealMs = firstPageMs + Math.ceil((pages - 1) / config.concurrency) * LATENCY_MS;
      // Each repeat is one cold read on its own: the next starts once this one's background store is done
      // (the service holds the user's lock until its entry is in Redis).
      const settleMs = await backgroundStoreDone(ctx.watch, user);
      // the service's CPU (all threads) for the read and its background store
      const serviceCpuMs = cpuMs(bffMain.pid) - cpu0;
      await simAdmin(sim, 'DELETE', `/orgs/o1/users/${user}`);
      const pageMs = counters.log.filter((l) => l.endpoint === 'assetList').map((l) => l.finishedAt - l.startedAt);
      const meanPageMs = pageMs.reduce((a, b) => a + b, 0) / Math.max(1, pageMs.length);
      // How long a freed slot stayed idle: each call after the first wave against the earliest earlier answer
      // not yet matched (the service's handling of an answer until its next request reached the simulator).
      const pageCalls = counters.log.filter((l) => l.endpoint === 'assetList');
      const finishes = pageCalls.map((l) => l.finishedAt).sort((a, b) => a - b);
      const starts = pageCalls
        .map((l) => l.startedAt)
        .sort((a, b) => a - b)
        .slice(1 + config.concurrency);
      const gaps = starts.map((st, i) => st - finishes[i + 1]).filter((g) => g >= 0);
      const meanSlotIdleMs = gaps.reduce((a, b) => a + b, 0) / Math.max(1, gaps.length);
      runs.push({
        wallMs: r.ms,
        idealMs,
        ratio: r.ms / idealMs,
        serviceCpuMs,
        timeline: tl,
        headMs: r.headMs,
        driverCpuMs: r.driverCpuMs,
        firstPageMs,
        meanPageMs,
        meanSlotIdleMs,
        settleMs,
        upstreamCalls: calls,
        total,
        bytes: r.bytes,
        xCache: r.headers['x-cache'],
      });
    }
  } finally {
    await setLatency(sim, 0);
  }
  const best = runs.find((x) => x.ratio === median(runs.map((y) => y.ratio)));
  return {
    ...best,
    medianServiceCpuMs: median(runs.map((x) => x.serviceCpuMs)),
    runs,
    formula: `firstPage + ceil(99 / ${config.concurrency}) x ${LATENCY_MS} ms`,
  };
}

/** The cold batch's OU (made once per simulator: a second run against the same one finds it there). */
async function ensureColdOrg(sim) {
  try {
    await simAdmin(sim, 'POST', '/orgs', { orgId: COLD_ORG, assetCount: 5_000, userCount: COLD_USERS, assetsPerUser: COLD_ASSETS_PER_USER });
  } catch (e) {
    if (!/-> 409 /.test(e.message)) throw e;
  }
}

/** 10,000 cold users in one POST user-assets with Cache-Control: no-cache (every user fetched upstream). */
async function coldBatch(ctx) {
  const { sim, bffMain, config } = ctx;
  await ensureColdOrg(sim);
  const body = { userIds: userIds(COLD_ORG, COLD_USERS) };
  const runs = [];
  await setLatency(sim, LATENCY_MS);
  let singleCallMs;
  const singleCalls = [];
  try {
    // The simulator encodes an OU's ids and details on its first call for it, and each user's list on the
    // first call that names the user: a first batch of every user is not timed, so that every timed call (the
    // ideal's and the repeats') finds the simulator in the same state.
    const last = body.userIds[body.userIds.length - 1];
    const unwarmed = await entryOf(ctx.watch, COLD_ORG, last);
    await bff(bffMain.url, 'POST', `/v1/orgs/${COLD_ORG}/user-assets`, body, { 'cache-control': 'no-cache' });
    await entryReplaced(ctx.watch, COLD_ORG, last, unwarmed);
    // one uncontended users/assetList call of a full chunk, as the simulator times it (latency + its own work)
    // The shortest of three such calls, a second apart: one call made while the machine was busy elsewhere (the
    // first batch's background store, a GC of the simulator's) can take half as long again and inflate the ideal.
    for (let k = 0; k < SINGLE_CALLS; k++) {
      if (k > 0) await new Promise((r) => setTimeout(r, 1_000));
      const one = await counted(sim, () =>
        bff(bffMain.url, 'POST', `/v1/orgs/${COLD_ORG}/user-assets`, { userIds: body.userIds.slice(-config.batchSize) }, { 'cache-control': 'no-cache' }),
      );
      const rec = one.counters.log.find((l) => l.endpoint === 'usersAssetList');
      singleCalls.push(rec ? rec.finishedAt - rec.startedAt : LATENCY_MS);
    }
    singleCallMs = Math.min(...singleCalls);
    for (let k = 0; k < REPEATS; k++) {
      // every run bypasses the cache: every user is fetched upstream
      const headers = { 'cache-control': 'no-cache' };
      const before = await entryOf(ctx.watch, COLD_ORG, last);
      const cpu0 = cpuMs(bffMain.pid);
      const { result: r, calls, timeline: tl } = await counted(sim, () => timedBff(bffMain.url, 'POST', `/v1/orgs/${COLD_ORG}/user-assets`, body, headers));
      if (r.status !== 200) throw new Error(`cold batch: ${r.status} ${r.text.slice(0, 200)}`);
      // Each repeat is one cold batch on its own: the next starts once this one's users are stored (after its answer).
      const settleMs = await entryReplaced(ctx.watch, COLD_ORG, last, before);
      // the service's CPU (all threads) for the batch and its background store, per user
      const cpuUsPerUser = ((cpuMs(bffMain.pid) - cpu0) * 1000) / COLD_USERS;
      const idealMs = Math.ceil(calls / config.concurrency) * singleCallMs;
      const idealLatencyOnlyMs = Math.ceil(COLD_USERS / config.batchSize / config.concurrency) * LATENCY_MS;
      runs.push({
        wallMs: r.ms,
        idealMs,
        ratio: r.ms / idealMs,
        cpuUsPerUser,
        timeline: tl,
        headMs: r.headMs,
        driverCpuMs: r.driverCpuMs,
        upstreamCalls: calls,
        singleCallMs,
        singleCalls,
        idealLatencyOnlyMs,
        ratioToLatencyOnly: r.ms / idealLatencyOnlyMs,
        settleMs,
        users: JSON.parse(r.text).users.length,
        bytes: r.bytes,
        xCache: r.headers['x-cache'],
      });
    }
  } finally {
    await setLatency(sim, 0);
  }
  const best = runs.find((x) => x.ratio === median(runs.map((y) => y.ratio)));
  return {
    ...best,
    medianCpuUsPerUser: median(runs.map((x) => x.cpuUsPerUser)),
    runs,
    formula: `ceil(calls / ${config.concurrency}) x one uncontended 1,000-user users/assetList call as the simulator timed it (${LATENCY_MS} ms latency + its own work; the shortest of ${SINGLE_CALLS})`,
  };
}

/**
 * The cold scenarios' own Redis connection (ctx.watch), for watching the service's stores between repeats. Not
 * redis-cli: every process started forks the driver, and after a fork each page the driver writes faults once
 * (copy-on-write), so a repeat that followed redis-cli calls spent far more of the driver's CPU receiving its answer.
 */
const watchOf = (redis) => new Redis(redis.url, { maxRetriesPerRequest: 1 });

/** The timed reads' body buffer, made and touched before any of them (the org merge's answer is ~16 MB). */
const RECEIVE_BYTES = 32 * 1024 * 1024;

/** The cold scenarios, or those named in `parts` (the stampede needs ctx.bffSecond). */
async function run(ctx, parts = ['stampede', 'orgMerge', 'batch']) {
  reserve(RECEIVE_BYTES);
  const watch = watchOf(ctx.redis);
  const c = { ...ctx, watch };
  const scenarios = { stampede, orgMerge, batch: coldBatch };
  try {
    const out = {};
    for (const p of parts) out[p] = await scenarios[p](c);
    return out;
  } finally {
    closeAll();
    watch.disconnect();
  }
}

module.exports = { run, setLatency, LATENCY_MS, BIG_USER_ASSETS, COLD_ORG, COLD_USERS, ensureColdOrg, RECEIVE_BYTES, watchOf };
