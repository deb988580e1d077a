#!/usr/bin/env node
'use strict';
// `npm run bench`: the service against bare-Node baselines, measured side by side in one run.
//   node bench/run.js                   every scenario (about 3 minutes on two cores)
//   node bench/run.js --quick           short smoke version (3 s per load run)
//   node bench/run.js --only hot,cold,memory
//   node bench/run.js --soak [--soak-minutes N]   the soak benchmark (default 10 minutes)
// Writes bench/results/latest.json (or soak-latest.json). Everything it starts is killed on exit.
const { execSync } = require('node:child_process');
const { cpus } = require('node:os');
const { join } = require('node:path');
const { writeFileSync, rmSync } = require('node:fs');
const procs = require('./lib/procs');
const { fmt, table } = require('./lib/report');
const setup = require('./scenarios/setup');

const RESULTS = procs.ensureDir(join(__dirname, 'results'));
const TMP = join(RESULTS, 'tmp');

/** Load shape of the throughput runs: same for the service and both baselines. */
const FULL = { durationS: 10, warmupS: 2 };
const QUICK = { durationS: 3, warmupS: 1 };
/** Service settings of every instance (API.md section 2 defaults, spelled out). */
const SERVICE = { concurrency: 8, batchSize: 1000, pageSize: 1000 };
const TARGETS = {
  singleReadRatio: 1.0,
  p99Ratio: 3,
  checksPerSec: 200_000,
  stampedeCalls: 1,
  orgMergeRatio: 1.25,
  coldBatchCalls: 10,
  coldBatchRatio: 1.25,
  memoryRatio: 0.1,
};

function args() {
  const a = process.argv.slice(2);
  const val = (name, dflt) => {
    const i = a.indexOf(name);
    return i >= 0 && a[i + 1] ? a[i + 1] : dflt;
  };
  return {
    quick: a.includes('--quick'),
    soak: a.includes('--soak'),
    soakMinutes: Number(val('--soak-minutes', '10')),
    only: new Set(val('--only', 'hot,memory,cold').split(',')),
  };
}

function meta() {
  let commit = null;
  try {
    commit = execSync('git rev-parse HEAD', { cwd: procs.ROOT, encoding: 'utf8' }).trim();
  } catch {
    /* not a git checkout */
  }
  return { commit, date: new Date().toISOString(), cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, serviceNodeArgs: procs.serviceNodeArgs() };
}

/** Our own redis-server on a free port (clean INFO memory), else the one on 6379. */
async function startRedis() {
  try {
    const r = new procs.OwnRedis(await procs.freePort());
    await r.start();
    return { r, own: true };
  } catch (e) {
    if (!(await procs.portOpen(6379))) throw new Error(`no redis-server binary and nothing on 6379: ${e.message}`);
    const r = new procs.OwnRedis(6379);
    r.start = async () => {};
    r.kill = async () => {};
    return { r, own: false };
  }
}

function serviceEnv(redisUrl) {
  return {
    REDIS_URL: redisUrl,
    PORTAL_CONCURRENCY: SERVICE.concurrency,
    PORTAL_BATCH_SIZE: SERVICE.batchSize,
    PORTAL_PAGE_SIZE: SERVICE.pageSize,
    PORTAL_TIMEOUT_MS: 10_000,
  };
}

function rowsOf(res) {
  const rows = [];
  const ratio = (x) => `${fmt(x, 2)}x`;
  if (res.hot) {
    const { single, batch, checks, profiles } = res.hot;
    const s = single.service;
    const b1 = single.baselineRedis;
    const b2 = single.baselineMemory;
    // Round by round (service and baseline 1 measured back to back), the median over the rounds.
    const rpsRatio = single.medianRoundRatio;
    const p99Ratio = single.medianRoundP99Ratio;
    res.hot.figures = { rpsRatio, p99Ratio, rpsRatioMemory: s.reqPerSec / b2.reqPerSec };
    const sr = 'hot single-user read (64 conn, 10,000 users)';
    // req/s and p99 below are each the median round's
    rows.push({ scenario: sr, figure: 'service req/s', value: fmt(s.reqPerSec) });
    rows.push({ scenario: sr, figure: 'baseline 1 (node:http+ioredis) req/s', value: fmt(b1.reqPerSec) });
    rows.push({ scenario: sr, figure: 'baseline 2 (node:http, memory) req/s', value: fmt(b2.reqPerSec) });
    rows.push({ scenario: sr, figure: `req/s ratio to baseline 1 per round (${single.rounds} rounds)`, value: single.roundRatios.map(ratio).join(' / ') });
    rows.push({ scenario: sr, figure: 'req/s ratio to baseline 1 (median round)', value: ratio(rpsRatio), target: `>= ${fmt(TARGETS.singleReadRatio, 2)}x`, met: rpsRatio >= TARGETS.singleReadRatio });
    rows.push({ scenario: sr, figure: 'req/s ratio to baseline 2', value: ratio(res.hot.figures.rpsRatioMemory) });
    rows.push({ scenario: sr, figure: 'p99 ms service / baseline 1 / baseline 2', value: `${fmt(s.latencyMs.p99)} / ${fmt(b1.latencyMs.p99)} / ${fmt(b2.latencyMs.p99)}` });
    rows.push({ scenario: sr, figure: 'p99 ratio to baseline 1 (median round)', value: ratio(p99Ratio), target: `<= ${TARGETS.p99Ratio}x`, met: p99Ratio <= TARGETS.p99Ratio });
    const br = 'hot batch of 1,000 users (8 conn)';
    rows.push({ scenario: br, figure: 'req/s', value: fmt(batch.reqPerSec, 1) });
    rows.push({ scenario: br, figure: 'MB/s', value: fmt(batch.bytesPerSec / 1e6, 1) });
    rows.push({ scenario: br, figure: 'p99 ms', value: fmt(batch.latencyMs.p99) });
    const sh = profiles.batch.shares;
    const pct = (k) => `${fmt(sh[k]?.pct ?? 0, 1)}%`;
    rows.push({ scenario: br, figure: 'CPU self time: redis / json / http / nest / logging / metrics', value: `${pct('redis')} / ${pct('json')} / ${pct('http')} / ${pct('nest')} / ${pct('logging')} / ${pct('metrics')}` });
    rows.push({ scenario: br, figure: 'profile: busy ms sampled / unsampled gaps ms', value: `${fmt(profiles.batch.busyMs)} / ${fmt(profiles.batch.unsampledMs)}` });
    rows.push({ scenario: br, figure: 'CPU self time: app / gc / node-internal / other', value: `${pct('app')} / ${pct('gc')} / ${pct('node-internal')} / ${fmt(100 - ['redis', 'json', 'http', 'nest', 'logging', 'metrics', 'app', 'gc', 'node-internal'].reduce((n, k) => n + (sh[k]?.pct ?? 0), 0), 1)}%` });
    const cr = 'hot access checks (1,000 per request, 8 conn)';
    rows.push({ scenario: cr, figure: 'checks/s', value: fmt(checks.checksPerSec), target: `>= ${fmt(TARGETS.checksPerSec)}`, met: checks.checksPerSec >= TARGETS.checksPerSec });
    rows.push({ scenario: cr, figure: 'p99 ms', value: fmt(checks.latencyMs.p99) });
  }
  if (res.cold) {
    const { stampede, orgMerge, batch } = res.cold;
    rows.push({ scenario: 'cold stampede: 1,000 reads of one user, 2 instances', figure: 'upstream calls', value: fmt(stampede.upstreamCalls), target: `exactly ${TARGETS.stampedeCalls}`, met: stampede.upstreamCalls === TARGETS.stampedeCalls && (stampede.statuses[200] || 0) === stampede.reads });
    rows.push({ scenario: 'cold stampede: 1,000 reads of one user, 2 instances', figure: 'wall ms (all 1,000 answered 200)', value: `${fmt(stampede.wallMs)} (${fmt(stampede.statuses[200] || 0)} x 200)` });
    const om = 'cold org merge: 100,000 assets, 100 pages, 50 ms';
    rows.push({ scenario: om, figure: 'wall ms / ideal ms', value: `${fmt(orgMerge.wallMs)} / ${fmt(orgMerge.idealMs)}` });
    rows.push({ scenario: om, figure: `wall ratio to ideal (median of ${orgMerge.runs.length})`, value: ratio(orgMerge.ratio), target: `<= ${TARGETS.orgMergeRatio}x`, met: orgMerge.ratio <= TARGETS.orgMergeRatio && orgMerge.total === 100_000 });
    const cb = 'cold batch: 10,000 users, 50 ms';
    rows.push({ scenario: cb, figure: 'upstream calls', value: fmt(batch.upstreamCalls), target: `${TARGETS.coldBatchCalls}`, met: batch.upstreamCalls === TARGETS.coldBatchCalls });
    rows.push({ scenario: cb, figure: 'wall ms / ideal ms (latency-only ideal)', value: `${fmt(batch.wallMs)} / ${fmt(batch.idealMs)} (${fmt(batch.idealLatencyOnlyMs)})` });
    rows.push({ scenario: cb, figure: `wall ratio to ideal (median of ${batch.runs.length})`, value: ratio(batch.ratio), target: `<= ${TARGETS.coldBatchRatio}x`, met: batch.ratio <= TARGETS.coldBatchRatio });
  }
  if (res.memory) {
    const m = res.memory;
    const mr = 'memory: 10,000 users x 500 of 5,000 assets';
    rows.push({ scenario: mr, figure: 'Redis bytes per cached user / full JSON answer', value: `${fmt(m.bytesPerUser)} / ${fmt(m.fullJsonBytesPerUser)}` });
    rows.push({ scenario: mr, figure: 'ratio', value: `1/${fmt(1 / m.ratio, 1)} (${fmt(m.ratio, 3)})`, target: '<= 1/10', met: m.ratio <= TARGETS.memoryRatio });
  }
  if (res.hot) rows.push({ scenario: 'service RSS after the hot scenarios', figure: 'MB', value: fmt(res.hot.rssMb, 1) });
  return rows;
}

async function main() {
  const opt = args();
  if (opt.soak) return require('./scenarios/soak').main(opt);
  const started = Date.now();
  const load = opt.quick ? QUICK : FULL;
  rmSync(TMP, { recursive: true, force: true });
  procs.ensureDir(TMP);
  const out = { ...meta(), quick: opt.quick, load: { connections: 64, ...load }, service: SERVICE, targets: TARGETS, notes: [] };
  const stops = [];
  try {
    const { r: redis, own } = await startRedis();
    stops.push(() => redis.stop());
    out.redis = own ? `own redis-server on ${redis.port}` : 'the running Redis on 127.0.0.1:6379';
    log(`redis: ${out.redis}`);
    const sim = await procs.startSim();
    stops.push(() => sim.stop());
    log(`simulator (large profile): ${sim.url}`);
    const env = serviceEnv(redis.url);
    const bffMain = await procs.startBff(sim, { env });
    stops.push(() => bffMain.stop());
    log(`service: ${bffMain.url}`);
    const ctx = { redis, sim, bffMain, tmp: TMP, resultsDir: RESULTS, serviceEnv: env, config: SERVICE };

    await setup.createHotOrg(sim);
    out.warmHotMs = await setup.warm(bffMain.url, setup.HOT_ORG, setup.userIds(setup.HOT_ORG, setup.HOT_USERS));
    log(`hot OU warmed (${setup.HOT_USERS} users) in ${out.warmHotMs} ms`);

    if (opt.only.has('hot')) {
      log('hot scenarios...');
      out.hot = await require('./scenarios/hot').run(ctx, load);
    }
    if (opt.only.has('memory')) {
      log('memory scenario...');
      out.memory = await require('./scenarios/memory').run(ctx);
    }
    if (opt.only.has('cold')) {
      log('cold scenarios...');
      ctx.bffSecond = await procs.startBff(sim, { env });
      stops.push(() => ctx.bffSecond.stop());
      out.cold = await require('./scenarios/cold').run(ctx);
    }
    out.rows = rowsOf(out);
    out.wallS = Math.round((Date.now() - started) / 1000);
    const file = join(RESULTS, 'latest.json');
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    process.stdout.write(`\nasset-bff bench  commit ${out.commit?.slice(0, 12)}  ${out.date}  ${out.cpus} CPUs  node ${out.node}${out.serviceNodeArgs.length ? `  service node args: ${out.serviceNodeArgs.join(' ')}` : ''}${opt.quick ? '  (QUICK)' : ''}\n\n`);
    process.stdout.write(`${table(out.rows)}\n\n`);
    if (out.hot) {
      process.stdout.write('Top self-time functions of the service under the hot batch (profile-batch.cpuprofile):\n');
      for (const t of out.hot.profiles.batch.top.slice(0, 12)) process.stdout.write(`  ${fmt(t.pct, 1).padStart(5)}%  ${t.fn}  ${t.url}:${t.line}\n`);
      process.stdout.write('Top self-time functions under hot single-user reads (profile-single.cpuprofile):\n');
      for (const t of out.hot.profiles.single.top.slice(0, 12)) process.stdout.write(`  ${fmt(t.pct, 1).padStart(5)}%  ${t.fn}  ${t.url}:${t.line}\n`);
    }
    process.stdout.write(`\nwrote ${file} (${out.wallS} s)\n`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(TMP, { recursive: true, force: true });
    procs.killAll();
  }
}

function log(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e.stack || e}\n`);
  procs.killAll();
  process.exit(1);
});
