'use strict';
// Mixed load: hot single-user reads on instance A measured three ways: alone; while paced cold work (org merges
// and batches, fetched upstream every time) runs on a second instance B (the control: the same contention for the
// shared cores, none inside A); and while the same cold work runs on A itself. Inside against control is what
// the cold work costs the hot reads beyond the machine being busy.
const http = require('node:http');
const { cannon } = require('../lib/cannon');
const { simAdmin } = require('../lib/http');
const { BENCH_KEY } = require('../lib/procs');
const { HOT_ORG, HOT_USERS, userIds, warm } = require('./setup');
const { warmPaths, SINGLE_LOAD_PROCESSES } = require('./hot');
const { setLatency, ensureColdOrg, LATENCY_MS, BIG_USER_ASSETS, COLD_ORG, COLD_USERS } = require('./cold');

/** Rounds of the three conditions, each round in a rotated order so that none always runs first. */
const ROUNDS = 3;
const CONDITIONS = ['alone', 'control', 'inside'];
/**
 * One 100,000-asset org merge started every MERGE_EVERY_MS and one 10,000-user batch every BATCH_EVERY_MS (each
 * started when its last one ends, if that is later, so they never pile up): cold work present throughout every
 * run, yet a minority of the machine's work beside 64 connections of hot reads, as it is in production. Far denser,
 * and inside against control would only measure that one instance's event loop cannot do two cores' work.
 */
const MERGE_EVERY_MS = 5_000;
const BATCH_EVERY_MS = 2_000;
/** Pause after cold work before the next run: the service stores what it fetched after answering, and the next run starts without that tail. */
const SETTLE_MS = 2_000;
/** The org merge's user (in the simulator's OU o1, made once). */
const MERGE_USER = 'mixed-big';

const auth = { 'x-api-key': BENCH_KEY };
/** Every cold read is re-read upstream. */
const fresh = { ...auth, 'cache-control': 'no-cache' };
const hotPaths = () => userIds(HOT_ORG, HOT_USERS).map((u) => `/v1/orgs/${HOT_ORG}/users/${u}/assets`);
const agent = new http.Agent({ keepAlive: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : undefined;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One request whose answer is counted and dropped as it arrives (the driver keeps no 16 MB answers); resolves its wall ms. */
function drain(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const h = body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = http.request(url, { method, headers: h, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(Date.now() - t0) : reject(new Error(`${method} ${url}: ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const merge = (base) => drain(`${base}/v1/orgs/o1/users/${MERGE_USER}/assets`, { headers: fresh });
const batchBody = JSON.stringify({ userIds: userIds(COLD_ORG, COLD_USERS) });
const batch = (base) => drain(`${base}/v1/orgs/${COLD_ORG}/user-assets`, { method: 'POST', headers: fresh, body: batchBody });

/** Runs `work` every `everyMs` (or back to back when it takes longer) until stopped; stop() resolves the wall times. */
function paced(everyMs, work) {
  let stopped = false;
  let wake;
  const stopSignal = new Promise((r) => (wake = r));
  const walls = [];
  let failure;
  const done = (async () => {
    while (!stopped) {
      const t0 = Date.now();
      walls.push(await work());
      const wait = everyMs - (Date.now() - t0);
      if (wait > 0) await Promise.race([sleep(wait), stopSignal]);
    }
  })().catch((e) => (failure = e)); // kept for stop(): a failed cold read fails the scenario, after the hot run
  return {
    async stop() {
      stopped = true;
      wake();
      await done;
      if (failure) throw failure;
      return walls;
    },
  };
}

/** One measured run of hot reads on A under one condition. */
async function phase(condition, a, b, load) {
  const target = condition === 'inside' ? a : b;
  const loops = condition === 'alone' ? [] : [paced(MERGE_EVERY_MS, () => merge(target.url)), paced(BATCH_EVERY_MS, () => batch(target.url))];
  let hot;
  let walls = [];
  try {
    hot = await cannon({ ...load, connections: 64, processes: SINGLE_LOAD_PROCESSES, url: a.url, paths: hotPaths(), headers: auth });
  } finally {
    walls = await Promise.all(loops.map((l) => l.stop()));
  }
  const [merges = [], batches = []] = walls;
  if (hot.non2xx || hot.errors || hot.timeouts)
    throw new Error(`mixed ${condition}: ${hot.non2xx} non-2xx, ${hot.errors} errors, ${hot.timeouts} timeouts (${JSON.stringify(hot.statusCodes)})`);
  // a run in which A answered no read at all has no latencies: its p99 counts as unbounded
  const p99 = hot.requests ? hot.latencyMs.p99 : Infinity;
  return {
    condition,
    reqPerSec: hot.reqPerSec,
    p99,
    p50: hot.latencyMs.p50,
    merges: merges.length,
    mergeMedianMs: median(merges),
    batches: batches.length,
    batchMedianMs: median(batches),
  };
}

/**
 * ctx.bffMain is A, ctx.bffSecond is B (needed for the control only). opts.conditions and opts.rounds narrow the
 * run (the --compare rounds measure `inside` once per round).
 */
async function run(ctx, load, opts = {}) {
  const conditions = opts.conditions ?? CONDITIONS;
  const rounds = opts.rounds ?? ROUNDS;
  const { sim, bffMain: a, bffSecond: b } = ctx;
  try {
    await simAdmin(sim, 'POST', '/orgs/o1/users', { userId: MERGE_USER, assetCount: BIG_USER_ASSETS });
  } catch (e) {
    if (!/-> 409 /.test(e.message)) throw e;
  }
  await ensureColdOrg(sim);
  // The hot entries made afresh (an entry near the end of its CACHE_TTL_S would be refreshed upstream during the
  // runs), then A's in-process copies.
  await warm(a.url, HOT_ORG, userIds(HOT_ORG, HOT_USERS), { 'cache-control': 'no-cache' });
  await warmPaths(a.url, hotPaths());
  await setLatency(sim, LATENCY_MS);
  const phases = [];
  try {
    // one untimed merge and batch on each instance that will do cold work (JIT, the simulator's first encoding of the OU)
    for (const inst of conditions.includes('control') ? [a, b] : [a]) {
      await merge(inst.url);
      await batch(inst.url);
    }
    await sleep(SETTLE_MS);
    for (let round = 0; round < rounds; round++) {
      const order = conditions.map((_, i) => conditions[(i + round) % conditions.length]);
      for (const c of order) {
        phases.push({ round, ...(await phase(c, a, b, load)) });
        if (c !== 'alone') await sleep(SETTLE_MS);
      }
    }
  } finally {
    await setLatency(sim, 0);
    agent.destroy();
  }
  const of = (c) => phases.filter((p) => p.condition === c);
  const byCondition = {};
  for (const c of conditions) {
    const ps = of(c);
    const m = median(ps.map((p) => p.reqPerSec));
    byCondition[c] = { ...ps.find((p) => p.reqPerSec === m), medianP99: median(ps.map((p) => p.p99)) };
  }
  const out = { rounds, mergeEveryMs: MERGE_EVERY_MS, batchEveryMs: BATCH_EVERY_MS, phases, byCondition };
  if (conditions.includes('inside') && conditions.includes('control')) {
    const pairs = of('inside').map((p, i) => ({ rps: p.reqPerSec / of('control')[i].reqPerSec, p99: p.p99 / Math.max(1, of('control')[i].p99) }));
    out.roundRatios = pairs;
    out.rpsRatio = median(pairs.map((x) => x.rps));
    out.p99Ratio = median(pairs.map((x) => x.p99));
  }
  return out;
}

module.exports = { run, MERGE_EVERY_MS, BATCH_EVERY_MS };
