'use strict';
// Hot scenarios: every user cached. The service against the two bare-Node baselines, the 1,000-user
// batch with a CPU profile, and access checks.
const { readdirSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const Redis = require('ioredis');
const { cannon } = require('../lib/cannon');
const { bff, request } = require('../lib/http');
const { BENCH_KEY, startBaseline, startBff, rssMb, ensureDir } = require('../lib/procs');
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

/**
 * One GET of every hot path, 32 at a time: a steady hot read is a cached answer already serialized for the
 * caller's language, which the first read of each user (after the batch warm-up) builds.
 */
async function warmPaths(base, paths, concurrency = 32) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < paths.length) {
        const path = paths[next++];
        const r = await request(base + path, { headers: auth });
        if (r.status !== 200) throw new Error(`warming ${path}: ${r.status}`);
      }
    }),
  );
}

function assertClean(name, r) {
  if (r.non2xx || r.errors || r.timeouts) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts (${JSON.stringify(r.statusCodes)})`);
}

/** Rounds of the single-read comparison; each round measures the service and both baselines back to back. */
const SINGLE_ROUNDS = 5;
/**
 * Load generator processes of the single-read comparison (64 connections split between them): one autocannon
 * process saturates its core at ~35,000 req/s here while the servers idle at 70-80% of theirs, so with one
 * process the figure is the load generator's speed at parsing each server's headers, not the server's.
 */
const SINGLE_LOAD_PROCESSES = 2;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

/** The round whose figure is the median, so that one run's req/s and latencies stay together. */
function medianRun(runs, figure) {
  const m = median(runs.map(figure));
  return { ...runs.find((r) => figure(r) === m), rounds: runs.map((r) => ({ reqPerSec: r.reqPerSec, p99: r.latencyMs.p99 })) };
}

/**
 * Single-user reads, interleaved: in each of SINGLE_ROUNDS rounds the service and baseline 1 (node:http +
 * ioredis), in alternating order (service first in even rounds, baseline 1 first in odd ones), then baseline 2
 * (memory), one at a time, so that a slow spell of this shared VM hits all three alike and neither of the
 * compared two always runs first. Each figure is the median round; the ratios are computed round by round and their median reported too.
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

  const paths = userPaths();
  await warmPaths(bffMain.url, paths);
  const b1proc = await startBaseline('bare-redis.js', { REDIS_URL: redis.url, KEY: BASELINE_KEY });
  const b2proc = await startBaseline('bare-memory.js', { BODY_FILE: bodyFile });
  const runs = { service: [], baselineRedis: [], baselineMemory: [] };
  try {
    const check = await request(`${b1proc.url}${paths[0]}`);
    if (check.text !== sample.text) throw new Error('baseline 1 does not answer the same bytes');
    const runService = async () => {
      const service = await cannon({ ...load, processes: SINGLE_LOAD_PROCESSES, url: bffMain.url, paths, headers: auth });
      assertClean('service single read', service);
      runs.service.push(service);
    };
    const runBaseline1 = async () => runs.baselineRedis.push(await cannon({ ...load, processes: SINGLE_LOAD_PROCESSES, url: b1proc.url, paths }));
    for (let round = 0; round < SINGLE_ROUNDS; round++) {
      if (round % 2 === 0) {
        await runService();
        await runBaseline1();
      } else {
        await runBaseline1();
        await runService();
      }
      runs.baselineMemory.push(await cannon({ ...load, processes: SINGLE_LOAD_PROCESSES, url: b2proc.url, paths }));
    }
  } finally {
    await b1proc.stop();
    await b2proc.stop();
  }
  const rps = (x) => x.reqPerSec;
  const roundRatios = runs.service.map((s, i) => s.reqPerSec / runs.baselineRedis[i].reqPerSec);
  const roundP99Ratios = runs.service.map((s, i) => s.latencyMs.p99 / Math.max(1, runs.baselineRedis[i].latencyMs.p99));
  return {
    bodyBytes: body.length,
    rounds: SINGLE_ROUNDS,
    loadProcesses: SINGLE_LOAD_PROCESSES,
    service: medianRun(runs.service, rps),
    baselineRedis: medianRun(runs.baselineRedis, rps),
    baselineMemory: medianRun(runs.baselineMemory, rps),
    roundRatios,
    medianRoundRatio: median(roundRatios),
    roundP99Ratios,
    medianRoundP99Ratio: median(roundP99Ratios),
  };
}

async function batch(ctx, load) {
  const r = await cannon({ ...load, connections: BATCH_CONNECTIONS, url: `${ctx.bffMain.url}/v1/orgs/${HOT_ORG}/user-assets`, method: 'POST', bodies: batchBodies(), headers: { ...auth, 'content-type': 'application/json' } });
  assertClean('hot batch', r);
  return r;
}

async function accessChecks(ctx, load) {
  const r = await cannon({ ...load, connections: BATCH_CONNECTIONS, url: `${ctx.bffMain.url}/v1/orgs/${HOT_ORG}/access-checks`, method: 'POST', bodies: checkBodies(), headers: { ...auth, 'content-type': 'application/json' } });
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

module.exports = { run, BATCH_CONNECTIONS, BATCH_USERS, CHECKS_PER_REQUEST };
