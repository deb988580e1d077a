'use strict';
// Hot scenarios: every user cached. The service (as it is, with a browser caller, with the rate limit on) against
// the two bare-Node baselines, the 1,000-user batch with a CPU profile, and access checks.
const { readdirSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const Redis = require('ioredis');
const { cannon } = require('../lib/cannon');
const { bff, request } = require('../lib/http');
const { BENCH_KEY, startBaseline, startBff, rssMb, ensureDir, cpuMs } = require('../lib/procs');
const { analyze } = require('../lib/profile');
const { HOT_ORG, HOT_USERS, HOT_ASSETS_PER_USER, userIds, warm } = require('./setup');

/** Connections for the big-body scenarios (1,000 users or checks per request). */
const BATCH_CONNECTIONS = 8;
const BATCH_USERS = 1_000;
const CHECKS_PER_REQUEST = 1_000;
/** Distinct request bodies cycled by the batch and check scenarios. */
const BODY_VARIANTS = 10;
const BASELINE_KEY = 'bench:baseline:user-assets';

const auth = { 'x-api-key': BENCH_KEY };
const userPaths = () => userIds(HOT_ORG, HOT_USERS).map((u) => `/v1/orgs/${HOT_ORG}/users/${u}/assets`);

function batchBodies() {
  const ids = userIds(HOT_ORG, HOT_USERS);
  return Array.from({ length: BODY_VARIANTS }, (_, k) => JSON.stringify({ userIds: ids.slice(k * BATCH_USERS, (k + 1) * BATCH_USERS) }));
}

/** 1,000 checks per body over random hot users; about half the asset ids are granted. */
function checkBodies() {
  let seed = 12345;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  return Array.from({ length: BODY_VARIANTS }, () => {
    const checks = Array.from({ length: CHECKS_PER_REQUEST }, () => {
      const granted = rnd(2) === 0;
      const a = granted ? rnd(HOT_ASSETS_PER_USER) : HOT_ASSETS_PER_USER + rnd(1_000);
      return { userId: `${HOT_ORG}-u${String(rnd(HOT_USERS) + 1).padStart(4, '0')}`, assetId: `${HOT_ORG}-a${String(a + 1).padStart(4, '0')}` };
    });
    return JSON.stringify({ checks });
  });
}

/** One GET of every hot path, 32 at a time: the first read of each user on an instance makes its in-process copy. */
async function warmPaths(base, paths, concurrency = 32, headers = {}) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < paths.length) {
        const path = paths[next++];
        const r = await request(base + path, { headers: { ...auth, ...headers } });
        if (r.status !== 200) throw new Error(`warming ${path}: ${r.status}`);
      }
    }),
  );
}

function assertClean(name, r) {
  if (r.non2xx || r.errors || r.timeouts)
    throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts (${JSON.stringify(r.statusCodes)})`);
}

/** Rounds of the single-read comparison; each round measures every service variant and both baselines back to back. */
const SINGLE_ROUNDS = 5;
/**
 * Load generator processes of the single-read comparison (64 connections split between them): one autocannon
 * process saturates its core before the servers do, so with one process the figure would be the load
 * generator's speed at parsing each server's headers, not the server's.
 */
const SINGLE_LOAD_PROCESSES = 2;
/** The browser origin of the CORS variant: allowed by its CORS_ORIGINS and sent by its caller. */
const BENCH_ORIGIN = 'https://app.bench.test';
/** The rate-limit variant's limit: on, so every read is counted in Redis, and far above what one caller can send here. */
const BENCH_RATE_LIMIT_PER_S = 1_000_000;
/**
 * The service as three callers meet it, each an instance of its own on the shared Redis: the default settings, a
 * browser caller (CORS_ORIGINS set, Origin sent) and the rate limit on.
 */
const SINGLE_VARIANTS = [
  { name: 'service', env: {}, headers: {} },
  { name: 'origin', env: { CORS_ORIGINS: BENCH_ORIGIN }, headers: { origin: BENCH_ORIGIN } },
  { name: 'rateLimit', env: { RATE_LIMIT_PER_S: BENCH_RATE_LIMIT_PER_S }, headers: {} },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

/** The round whose figure is the median, so that one run's req/s and latencies stay together. */
function medianRun(runs, figure) {
  const m = median(runs.map(figure));
  return { ...runs.find((r) => figure(r) === m), rounds: runs.map((r) => ({ reqPerSec: r.reqPerSec, p99: r.latencyMs.p99, process: r.process })) };
}

/** Headers a connection or the body sets (and the request id, new per answer) are left out of baseline 3's copy. */
const PER_ANSWER_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'x-request-id']);
const serviceHeaders = (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => !PER_ANSWER_HEADERS.has(k)));

/** Seconds spent in GC so far and GCs run, by kind (minor, major, incremental, weakcb), from the instance's /metrics. */
async function gcTotals(url) {
  const r = await request(`${url}/metrics`);
  const totals = {};
  for (const m of r.text.matchAll(/^abff_nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} (\S+)$/gm)) {
    totals[m[2]] ??= { s: 0, n: 0 };
    totals[m[2]][m[1] === 'sum' ? 's' : 'n'] = Number(m[3]);
  }
  return totals;
}

/**
 * One load run against a service instance with what its process spent on it: CPU µs per read (every thread, the
 * warm-up's reads counted at the measured rate), GC ms per second of load and major GCs. They tell a slow process
 * (one that spends more per read for its whole life) from a slow spell of the machine (every server slower alike).
 */
async function measuredRun(inst, spec) {
  const [cpu0, gc0] = [cpuMs(inst.pid), await gcTotals(inst.url)];
  const r = await cannon({ ...spec, url: inst.url });
  const [cpu1, gc1] = [cpuMs(inst.pid), await gcTotals(inst.url)];
  const loadS = (spec.warmupS ?? 0) + spec.durationS;
  const gcS = Object.keys(gc1).reduce((a, k) => a + gc1[k].s - (gc0[k]?.s ?? 0), 0);
  r.process = {
    cpuUsPerRead: ((cpu1 - cpu0) * 1000) / (r.reqPerSec * loadS),
    gcMsPerS: (gcS * 1000) / loadS,
    majorGcs: (gc1.major?.n ?? 0) - (gc0.major?.n ?? 0),
  };
  return r;
}

/** One load run of single-user reads against a service instance (its local copies made first). */
async function serviceSingleRead(url, load, headers = {}) {
  await warmPaths(url, userPaths());
  const r = await cannon({ ...load, connections: 64, processes: SINGLE_LOAD_PROCESSES, url, paths: userPaths(), headers: { ...auth, ...headers } });
  assertClean('service single read', r);
  return r;
}

/**
 * Single-user reads, interleaved: in each of SINGLE_ROUNDS rounds the service variants and baseline 1 (node:http +
 * ioredis), in alternating order (forward in even rounds, backward in odd ones), then baseline 2 (memory), one at a
 * time, so that a slow spell of this shared VM hits all alike and none always runs first. Each figure is the
 * median round; the ratios to baseline 1 are computed round by round and their median reported.
 */
async function singleRead(ctx, load) {
  const { redis, bffMain, tmp } = ctx;
  const sample = await bff(bffMain.url, 'GET', `/v1/orgs/${HOT_ORG}/users/${HOT_ORG}-u0001/assets`);
  if (sample.status !== 200) throw new Error(`sample read failed: ${sample.status}`);
  const body = Buffer.from(sample.text, 'utf8');
  const r = new Redis(redis.url);
  await r.set(BASELINE_KEY, body);
  r.disconnect();
  const bodyFile = join(tmp, 'baseline-body.json');
  writeFileSync(bodyFile, body);
  // Baseline 3 sends the service's own headers: what its framework costs per header is then measured too.
  const headersFile = join(tmp, 'baseline-headers.json');
  writeFileSync(headersFile, JSON.stringify(serviceHeaders(sample.headers)));

  const paths = userPaths();
  const instances = {};
  const stops = [];
  const runs = { baselineRedis: [], baselineMemory: [], baselineFastify: [] };
  try {
    for (const v of SINGLE_VARIANTS) {
      instances[v.name] = v.name === 'service' ? bffMain : await startBff(ctx.sim, { env: { ...ctx.serviceEnv, ...v.env } });
      if (v.name !== 'service') stops.push(() => instances[v.name].stop());
      await warmPaths(instances[v.name].url, paths, 32, v.headers);
      runs[v.name] = [];
    }
    const b1proc = await startBaseline('bare-redis.js', { REDIS_URL: redis.url, KEY: BASELINE_KEY });
    stops.push(() => b1proc.stop());
    const b2proc = await startBaseline('bare-memory.js', { BODY_FILE: bodyFile });
    stops.push(() => b2proc.stop());
    const b3proc = await startBaseline('bare-fastify.js', { BODY_FILE: bodyFile, HEADERS_FILE: headersFile });
    stops.push(() => b3proc.stop());
    const check = await request(`${b1proc.url}${paths[0]}`);
    if (check.text !== sample.text) throw new Error('baseline 1 does not answer the same bytes');
    const steps = SINGLE_VARIANTS.map((v) => async () => {
      const res = await measuredRun(instances[v.name], { ...load, processes: SINGLE_LOAD_PROCESSES, paths, headers: { ...auth, ...v.headers } });
      assertClean(`${v.name} single read`, res);
      runs[v.name].push(res);
    });
    steps.push(async () => runs.baselineRedis.push(await cannon({ ...load, processes: SINGLE_LOAD_PROCESSES, url: b1proc.url, paths })));
    for (let round = 0; round < SINGLE_ROUNDS; round++) {
      for (const step of round % 2 === 0 ? steps : [...steps].reverse()) await step();
      runs.baselineMemory.push(await cannon({ ...load, processes: SINGLE_LOAD_PROCESSES, url: b2proc.url, paths }));
      runs.baselineFastify.push(await cannon({ ...load, processes: SINGLE_LOAD_PROCESSES, url: b3proc.url, paths }));
    }
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
  const rps = (x) => x.reqPerSec;
  const out = {
    bodyBytes: body.length,
    rounds: SINGLE_ROUNDS,
    loadProcesses: SINGLE_LOAD_PROCESSES,
    baselineRedis: medianRun(runs.baselineRedis, rps),
    baselineMemory: medianRun(runs.baselineMemory, rps),
    baselineFastify: medianRun(runs.baselineFastify, rps),
    // Round by round, as the service's: the ceiling a fastify service meets against baseline 1's target.
    fastifyRoundRatios: runs.baselineFastify.map((b3, i) => b3.reqPerSec / runs.baselineRedis[i].reqPerSec),
    variants: {},
  };
  out.fastifyMedianRoundRatio = median(out.fastifyRoundRatios);
  for (const v of SINGLE_VARIANTS) {
    const roundRatios = runs[v.name].map((s, i) => s.reqPerSec / runs.baselineRedis[i].reqPerSec);
    const roundP99Ratios = runs[v.name].map((s, i) => s.latencyMs.p99 / Math.max(1, runs.baselineRedis[i].latencyMs.p99));
    out.variants[v.name] = {
      env: v.env,
      headers: v.headers,
      ...medianRun(runs[v.name], rps),
      roundRatios,
      medianRoundRatio: median(roundRatios),
      roundP99Ratios,
      medianRoundP99Ratio: median(roundP99Ratios),
    };
  }
  return out;
}

async function batch(ctx, load) {
  const r = await cannon({
    ...load,
    connections: BATCH_CONNECTIONS,
    url: `${ctx.bffMain.url}/v1/orgs/${HOT_ORG}/user-assets`,
    method: 'POST',
    bodies: batchBodies(),
    headers: { ...auth, 'content-type': 'application/json' },
  });
  assertClean('hot batch', r);
  return r;
}

async function accessChecks(ctx, load) {
  const r = await cannon({
    ...load,
    connections: BATCH_CONNECTIONS,
    url: `${ctx.bffMain.url}/v1/orgs/${HOT_ORG}/access-checks`,
    method: 'POST',
    bodies: checkBodies(),
    headers: { ...auth, 'content-type': 'application/json' },
  });
  assertClean('access checks', r);
  return { ...r, checksPerSec: r.reqPerSec * CHECKS_PER_REQUEST };
}

/**
 * A separate service instance under `node --cpu-prof`, driven by one workload, stopped with SIGTERM so the
 * profile is written; returns the self-time split by category.
 */
async function profiled(ctx, name, spec) {
  const dir = ensureDir(join(ctx.tmp, `prof-${name}`));
  for (const f of readdirSync(dir)) rmSync(join(dir, f));
  const inst = await startBff(ctx.sim, { env: ctx.serviceEnv, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
  let fromUs;
  let toUs;
  try {
    // Loaded afresh: the hot OU was warmed minutes ago, and reads of entries that old (in the last 10% of
    // CACHE_TTL_S) would refresh all 10,000 users from the portal in the background during the profile.
    await warm(inst.url, HOT_ORG, userIds(HOT_ORG, HOT_USERS), { 'cache-control': 'no-cache' });
    // a short unprofiled-in-the-figures warm-up (JIT, connections, local copies), then the measured window
    if (name === 'single') await warmPaths(inst.url, userPaths());
    await cannon({ ...spec(inst.url), durationS: 2, warmupS: 0 });
    fromUs = Number(process.hrtime.bigint() / 1000n);
    await cannon({ ...spec(inst.url), warmupS: 0 });
    toUs = Number(process.hrtime.bigint() / 1000n);
  } finally {
    await inst.stop(30_000);
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no CPU profile written for ${name}`);
  const a = analyze(join(dir, file), 25, { fromUs, toUs });
  const keep = join(ctx.resultsDir, `profile-${name}.cpuprofile`);
  require('node:fs').copyFileSync(join(dir, file), keep);
  return { ...a, file: keep };
}

async function run(ctx, opts) {
  const load = { durationS: opts.durationS, warmupS: opts.warmupS };
  const single = await singleRead(ctx, { ...load, connections: 64 });
  const batchRes = await batch(ctx, load);
  const checks = await accessChecks(ctx, load);
  const rss = rssMb(ctx.bffMain.pid);
  const profDuration = Math.max(3, Math.round(opts.durationS * 0.8));
  const profBatch = await profiled(ctx, 'batch', (url) => ({
    url: `${url}/v1/orgs/${HOT_ORG}/user-assets`,
    connections: BATCH_CONNECTIONS,
    durationS: profDuration,
    method: 'POST',
    bodies: batchBodies(),
    headers: { ...auth, 'content-type': 'application/json' },
  }));
  const profSingle = await profiled(ctx, 'single', (url) => ({ url, connections: 64, durationS: profDuration, paths: userPaths(), headers: auth }));
  return { single, batch: batchRes, checks, rssMb: rss, profiles: { batch: profBatch, single: profSingle } };
}

module.exports = {
  run,
  serviceSingleRead,
  warmPaths,
  SINGLE_LOAD_PROCESSES,
  BENCH_ORIGIN,
  BENCH_RATE_LIMIT_PER_S,
  BATCH_CONNECTIONS,
  BATCH_USERS,
  CHECKS_PER_REQUEST,
};
