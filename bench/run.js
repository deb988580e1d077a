#!/usr/bin/env node
'use strict';
// `npm run bench`: the service against bare-Node baselines and its own targets, measured in one run.
//   node bench/run.js                   every scenario (hot, memory, cold, mixed, tracing, http)
//   node bench/run.js --quick           short smoke version (3 s per load run)
//   node bench/run.js --only mixed      some scenarios (comma list of hot, memory, cold, mixed, tracing, http)
//   node bench/run.js --compare PAGE_WORKERS=0 [--compare K=V ...]
//                                       the default service against it plus these settings, rounds A/B/A/B
//   node bench/run.js --compare-node-args "--some-v8-flag"   the same with Node options for B (alone or with --compare)
//   node bench/run.js --compare ... --compare-rounds 4   more rounds of each variant (default 2)
//   node bench/run.js --soak [--soak-minutes N]   the soak benchmark (default 10 minutes)
// Writes bench/results/latest.json (compare-latest.json, soak-latest.json). Everything it starts is killed on exit.
const { execSync } = require('node:child_process');
const { cpus } = require('node:os');
const { join } = require('node:path');
const { writeFileSync, rmSync } = require('node:fs');
const procs = require('./lib/procs');
const { fmt, table, grid } = require('./lib/report');
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
  checksPerSec: 200_000,
  stampedeCalls: 1,
  orgMergeRatio: 1.5,
  coldBatchCalls: 10,
  memoryRatio: 0.1,
  mixedP99Ratio: 1.5,
  mixedRpsRatio: 0.8,
};
/** Rounds of each variant in a --compare run (alternated A/B/A/B), unless --compare-rounds says more. */
const COMPARE_ROUNDS = 2;

function args() {
  const a = process.argv.slice(2);
  const val = (name, dflt) => {
    const i = a.indexOf(name);
    return i >= 0 && a[i + 1] ? a[i + 1] : dflt;
  };
  // every --compare K=V (one or more, space-separated, per flag)
  const overrides = {};
  a.forEach((x, i) => {
    if (x !== '--compare' || !a[i + 1]) return;
    for (const kv of a[i + 1].split(/\s+/).filter(Boolean)) {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`--compare wants KEY=VALUE, got ${kv}`);
      overrides[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  });
  // --compare-node-args "<flags>": Node options of variant B (V8 flags that NODE_OPTIONS does not take)
  const compareNodeArgs = val('--compare-node-args', '').split(/\s+/).filter(Boolean);
  const compare = a.includes('--compare') || compareNodeArgs.length > 0 ? overrides : undefined;
  return {
    quick: a.includes('--quick'),
    soak: a.includes('--soak'),
    soakMinutes: Number(val('--soak-minutes', '10')),
    only: new Set(val('--only', compare ? 'hot,mixed,cold' : 'hot,memory,cold,mixed,tracing,http').split(',')),
    compare,
    compareNodeArgs,
    compareRounds: Math.max(1, Number(val('--compare-rounds', String(COMPARE_ROUNDS)))),
  };
}

function meta() {
  let commit = null;
  try {
    commit = execSync('git rev-parse HEAD', { cwd: procs.ROOT, encoding: 'utf8' }).trim();
  } catch {
    /* not a git checkout */
  }
  return {
    commit,
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    serviceNodeArgs: procs.serviceNodeArgs(),
  };
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

/** Per round, what the instance's process spent: CPU µs per read, GC ms per second of load, major GCs (hot.js measuredRun). */
function processRow(rows, scenario, v) {
  if (!v.rounds.every((r) => r.process)) return;
  const each = v.rounds.map(({ process: p }) => `${fmt(p.cpuUsPerRead)}/${fmt(p.gcMsPerS)}/${p.majorGcs}`);
  rows.push({ scenario, figure: 'per round: CPU us per read / GC ms per s / major GCs', value: each.join(' ') });
}

function rowsOf(res) {
  const rows = [];
  const ratio = (x) => `${fmt(x, 2)}x`;
  if (res.hot) {
    const { single, batch, checks, profiles } = res.hot;
    const { service: s, origin, rateLimit } = single.variants;
    const b1 = single.baselineRedis;
    const b2 = single.baselineMemory;
    // Round by round (each variant and baseline 1 measured back to back), the median over the rounds; req/s and
    // p99 are each the median round's.
    const sr = 'hot single-user read (64 conn, 10,000 users)';
    rows.push({ scenario: sr, figure: 'service req/s', value: fmt(s.reqPerSec) });
    rows.push({ scenario: sr, figure: 'baseline 1 (node:http+ioredis) req/s', value: fmt(b1.reqPerSec) });
    rows.push({ scenario: sr, figure: 'baseline 2 (node:http, memory) req/s', value: fmt(b2.reqPerSec) });
    if (single.baselineFastify) {
      rows.push({ scenario: sr, figure: "baseline 3 (fastify, memory, the service's headers) req/s", value: fmt(single.baselineFastify.reqPerSec) });
      rows.push({ scenario: sr, figure: 'baseline 3 ratio to baseline 1 (median round): the ceiling', value: ratio(single.fastifyMedianRoundRatio) });
    }
    rows.push({ scenario: sr, figure: `req/s ratio to baseline 1 per round (${single.rounds} rounds)`, value: s.roundRatios.map(ratio).join(' / ') });
    rows.push({
      scenario: sr,
      figure: 'req/s ratio to baseline 1 (median round)',
      value: ratio(s.medianRoundRatio),
      target: `>= ${fmt(TARGETS.singleReadRatio, 2)}x`,
      met: s.medianRoundRatio >= TARGETS.singleReadRatio,
    });
    rows.push({ scenario: sr, figure: 'req/s ratio to baseline 2', value: ratio(s.reqPerSec / b2.reqPerSec) });
    rows.push({
      scenario: sr,
      figure: 'p99 ms service / baseline 1 / baseline 2',
      value: `${fmt(s.latencyMs.p99)} / ${fmt(b1.latencyMs.p99)} / ${fmt(b2.latencyMs.p99)}`,
    });
    rows.push({ scenario: sr, figure: 'p99 ratio to baseline 1 (median round)', value: ratio(s.medianRoundP99Ratio) });
    processRow(rows, sr, s);
    for (const [v, name] of [
      [origin, 'hot single-user read, caller sends Origin (CORS_ORIGINS set)'],
      [rateLimit, `hot single-user read, rate limit on (RATE_LIMIT_PER_S ${fmt(Number(rateLimit.env.RATE_LIMIT_PER_S))})`],
    ]) {
      rows.push({ scenario: name, figure: 'req/s / p99 ms', value: `${fmt(v.reqPerSec)} / ${fmt(v.latencyMs.p99)}` });
      rows.push({
        scenario: name,
        figure: 'req/s ratio to baseline 1 (median round)',
        value: ratio(v.medianRoundRatio),
        target: `>= ${fmt(TARGETS.singleReadRatio, 2)}x`,
        met: v.medianRoundRatio >= TARGETS.singleReadRatio,
      });
      processRow(rows, name, v);
    }
    const br = 'hot batch of 1,000 users (8 conn)';
    rows.push({ scenario: br, figure: 'req/s', value: fmt(batch.reqPerSec, 1) });
    rows.push({ scenario: br, figure: 'MB/s', value: fmt(batch.bytesPerSec / 1e6, 1) });
    rows.push({ scenario: br, figure: 'p99 ms', value: fmt(batch.latencyMs.p99) });
    const sh = profiles.batch.shares;
    const pct = (k) => `${fmt(sh[k]?.pct ?? 0, 1)}%`;
    rows.push({
      scenario: br,
      figure: 'CPU self time: redis / json / http / nest / logging / metrics',
      value: `${pct('redis')} / ${pct('json')} / ${pct('http')} / ${pct('nest')} / ${pct('logging')} / ${pct('metrics')}`,
    });
    rows.push({
      scenario: br,
      figure: 'profile: busy ms sampled / unsampled gaps ms',
      value: `${fmt(profiles.batch.busyMs)} / ${fmt(profiles.batch.unsampledMs)}`,
    });
    rows.push({
      scenario: br,
      figure: 'CPU self time: app / gc / node-internal / other',
      value: `${pct('app')} / ${pct('gc')} / ${pct('node-internal')} / ${fmt(100 - ['redis', 'json', 'http', 'nest', 'logging', 'metrics', 'app', 'gc', 'node-internal'].reduce((n, k) => n + (sh[k]?.pct ?? 0), 0), 1)}%`,
    });
    const cr = 'hot access checks (1,000 per request, 8 conn)';
    rows.push({
      scenario: cr,
      figure: 'checks/s',
      value: fmt(checks.checksPerSec),
      target: `>= ${fmt(TARGETS.checksPerSec)}`,
      met: checks.checksPerSec >= TARGETS.checksPerSec,
    });
    rows.push({ scenario: cr, figure: 'p99 ms', value: fmt(checks.latencyMs.p99) });
  }
  if (res.cold) {
    const { stampede, orgMerge, batch } = res.cold;
    const st = 'cold stampede: 1,000 reads of one user, 2 instances';
    rows.push({
      scenario: st,
      figure: 'upstream calls',
      value: fmt(stampede.upstreamCalls),
      target: `exactly ${TARGETS.stampedeCalls}`,
      met: stampede.upstreamCalls === TARGETS.stampedeCalls && (stampede.statuses[200] || 0) === stampede.reads,
    });
    rows.push({ scenario: st, figure: 'wall ms (all 1,000 answered 200)', value: `${fmt(stampede.wallMs)} (${fmt(stampede.statuses[200] || 0)} x 200)` });
    const om = 'cold org merge: 100,000 assets, 100 pages, 50 ms';
    rows.push({ scenario: om, figure: 'wall ms / ideal ms', value: `${fmt(orgMerge.wallMs)} / ${fmt(orgMerge.idealMs)}` });
    rows.push({
      scenario: om,
      figure: `wall ratio to ideal (median of ${orgMerge.runs.length})`,
      value: ratio(orgMerge.ratio),
      target: `<= ${TARGETS.orgMergeRatio}x`,
      met: orgMerge.ratio <= TARGETS.orgMergeRatio && orgMerge.total === 100_000,
    });
    rows.push({ scenario: om, figure: 'service CPU ms per merge (median)', value: fmt(orgMerge.medianServiceCpuMs) });
    const cb = 'cold batch: 10,000 users, 50 ms';
    rows.push({
      scenario: cb,
      figure: 'upstream calls',
      value: fmt(batch.upstreamCalls),
      target: `exactly ${TARGETS.coldBatchCalls}`,
      met: batch.upstreamCalls === TARGETS.coldBatchCalls,
    });
    rows.push({
      scenario: cb,
      figure: `wall ms / ideal ms (latency-only ideal), median of ${batch.runs.length}`,
      value: `${fmt(batch.wallMs)} / ${fmt(batch.idealMs)} (${fmt(batch.idealLatencyOnlyMs)})`,
    });
    rows.push({ scenario: cb, figure: 'service CPU us per cold user (median)', value: fmt(batch.medianCpuUsPerUser, 1) });
  }
  if (res.memory) {
    const m = res.memory;
    const mr = 'memory: 10,000 users x 500 of 5,000 assets';
    rows.push({ scenario: mr, figure: 'Redis bytes per cached user / full JSON answer', value: `${fmt(m.bytesPerUser)} / ${fmt(m.fullJsonBytesPerUser)}` });
    rows.push({
      scenario: mr,
      figure: 'ratio',
      value: `1/${fmt(1 / m.ratio, 1)} (${fmt(m.ratio, 3)})`,
      target: '<= 1/10',
      met: m.ratio <= TARGETS.memoryRatio,
    });
  }
  if (res.mixed) {
    const { byCondition: c, rounds } = res.mixed;
    const mx = `mixed: hot reads on A (64 conn) + a merge every ${fmt(res.mixed.mergeEveryMs / 1000, 1)} s and a batch every ${fmt(res.mixed.batchEveryMs / 1000, 1)} s`;
    rows.push({
      scenario: mx,
      figure: `req/s alone / control (cold work on B) / inside (cold work on A), median of ${rounds}`,
      value: `${fmt(c.alone.reqPerSec)} / ${fmt(c.control.reqPerSec)} / ${fmt(c.inside.reqPerSec)}`,
    });
    rows.push({
      scenario: mx,
      figure: 'p99 ms alone / control / inside (median)',
      value: `${fmt(c.alone.medianP99)} / ${fmt(c.control.medianP99)} / ${fmt(c.inside.medianP99)}`,
    });
    rows.push({
      scenario: mx,
      figure: 'req/s ratio inside / control (median round)',
      value: ratio(res.mixed.rpsRatio),
      target: `>= ${fmt(TARGETS.mixedRpsRatio, 2)}x`,
      met: res.mixed.rpsRatio >= TARGETS.mixedRpsRatio,
    });
    rows.push({
      scenario: mx,
      figure: 'p99 ratio inside / control (median round)',
      value: ratio(res.mixed.p99Ratio),
      target: `<= ${fmt(TARGETS.mixedP99Ratio, 2)}x`,
      met: res.mixed.p99Ratio <= TARGETS.mixedP99Ratio,
    });
    rows.push({
      scenario: mx,
      figure: 'cold work per run, control / inside: merges + batches',
      value: `${c.control.merges} + ${c.control.batches} / ${c.inside.merges} + ${c.inside.batches}`,
    });
    rows.push({
      scenario: mx,
      figure: 'cold work median wall ms, control / inside: merge, batch',
      value: `${fmt(c.control.mergeMedianMs)}, ${fmt(c.control.batchMedianMs)} / ${fmt(c.inside.mergeMedianMs)}, ${fmt(c.inside.batchMedianMs)}`,
    });
  }
  if (res.tracing) rows.push(...require('./scenarios/tracing').rows(res.tracing));
  if (res.http) rows.push(...require('./scenarios/http').rows(res.http));
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
    await setup.createHotOrg(sim);
    const ctx = { redis, sim, tmp: TMP, resultsDir: RESULTS, serviceEnv: env, config: SERVICE };
    if (opt.compare) return await compare(ctx, opt, load, out, started);

    const bffMain = await procs.startBff(sim, { env });
    stops.push(() => bffMain.stop());
    log(`service: ${bffMain.url}`);
    ctx.bffMain = bffMain;
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
    if (opt.only.has('cold') || opt.only.has('mixed')) {
      ctx.bffSecond = await procs.startBff(sim, { env });
      stops.push(() => ctx.bffSecond.stop());
    }
    if (opt.only.has('cold')) {
      log('cold scenarios...');
      out.cold = await require('./scenarios/cold').run(ctx);
    }
    if (opt.only.has('mixed')) {
      log('mixed scenario...');
      out.mixed = await require('./scenarios/mixed').run(ctx, load);
    }
    if (opt.only.has('tracing')) {
      log('tracing scenario...');
      out.tracing = await require('./scenarios/tracing').run(ctx, load);
    }
    if (opt.only.has('http')) {
      log('http scenario...');
      out.http = await require('./scenarios/http').run(ctx, load);
    }
    out.rows = rowsOf(out);
    out.wallS = Math.round((Date.now() - started) / 1000);
    const file = join(RESULTS, 'latest.json');
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    process.stdout.write(`\n${heading('bench', out, opt)}\n\n`);
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

function heading(what, out, opt) {
  return `asset-bff ${what}  commit ${out.commit?.slice(0, 12)}  ${out.date}  ${out.cpus} CPUs  node ${out.node}${out.serviceNodeArgs.length ? `  service node args: ${out.serviceNodeArgs.join(' ')}` : ''}${opt.quick ? '  (QUICK)' : ''}`;
}

/**
 * `--compare K=V ...`: the selected scenarios' headline figures for variant A (the default settings) and B (the
 * default plus the overrides), in rounds A/B/A/B on the same Redis and simulator, each round on fresh instances
 * that load the hot OU themselves; each figure is the median of the variant's rounds.
 */
async function compare(ctx, opt, load, out, started) {
  const variants = [
    { name: 'A', label: 'A (default)', env: ctx.serviceEnv, nodeArgs: [], rounds: [] },
    {
      name: 'B',
      label: `B (${[...Object.entries(opt.compare).map(([k, v]) => `${k}=${v}`), ...opt.compareNodeArgs].join(' ')})`,
      env: { ...ctx.serviceEnv, ...opt.compare },
      nodeArgs: opt.compareNodeArgs,
      rounds: [],
    },
  ];
  const hot = require('./scenarios/hot');
  const cold = require('./scenarios/cold');
  const mixed = require('./scenarios/mixed');
  const ids = setup.userIds(setup.HOT_ORG, setup.HOT_USERS);
  for (let round = 0; round < 2 * opt.compareRounds; round++) {
    const v = variants[round % 2];
    log(`compare round ${round + 1}/${2 * opt.compareRounds}: ${v.label}`);
    const inst = await procs.startBff(ctx.sim, { env: v.env, nodeArgs: v.nodeArgs });
    const c = { ...ctx, bffMain: inst };
    const f = {};
    try {
      await setup.warm(inst.url, setup.HOT_ORG, ids, { 'cache-control': 'no-cache' });
      if (opt.only.has('hot')) {
        const r = await hot.serviceSingleRead(inst.url, load);
        Object.assign(f, { hotRps: r.reqPerSec, hotP99: r.latencyMs.p99 });
      }
      if (opt.only.has('mixed')) {
        const r = (await mixed.run(c, load, { conditions: ['inside'], rounds: 1 })).byCondition.inside;
        Object.assign(f, { mixedRps: r.reqPerSec, mixedP99: r.p99 });
      }
      if (opt.only.has('cold')) {
        const r = await cold.run(c, ['orgMerge', 'batch']);
        Object.assign(f, {
          mergeMs: r.orgMerge.wallMs,
          mergeCpuMs: r.orgMerge.medianServiceCpuMs,
          batchMs: r.batch.wallMs,
          batchCpuUs: r.batch.medianCpuUsPerUser,
        });
      }
    } finally {
      await inst.stop();
    }
    v.rounds.push(f);
  }
  // of an even count, the mean of the middle two (of two rounds, their mean)
  const median = (xs) => {
    const v = [...xs].sort((x, y) => x - y);
    const m = (v.length - 1) / 2;
    return (v[Math.floor(m)] + v[Math.ceil(m)]) / 2;
  };
  const figures = [
    ['hotRps', 'hot single-user read req/s', 0],
    ['hotP99', 'hot single-user read p99 ms', 0],
    ['mixedRps', 'hot read req/s under cold work on the same instance (mixed, inside)', 0],
    ['mixedP99', 'hot read p99 ms under cold work on the same instance (mixed, inside)', 0],
    ['mergeMs', 'cold org merge wall ms (median of 5)', 0],
    ['mergeCpuMs', 'cold org merge service CPU ms (median of 5)', 0],
    ['batchMs', 'cold batch wall ms (median of 5)', 0],
    ['batchCpuUs', 'cold batch service CPU us per user (median of 5)', 1],
  ].filter(([k]) => k in variants[0].rounds[0]);
  const rows = figures.map(([k, figure, digits]) => {
    const [a, b] = variants.map((v) => median(v.rounds.map((r) => r[k])));
    const each = (v) => v.rounds.map((r) => fmt(r[k], digits)).join(', ');
    return [figure, `${fmt(a, digits)} (${each(variants[0])})`, `${fmt(b, digits)} (${each(variants[1])})`, `${fmt(b / a, 2)}x`];
  });
  Object.assign(out, {
    compare: opt.compare,
    compareNodeArgs: opt.compareNodeArgs,
    rounds: opt.compareRounds,
    variants: variants.map(({ name, label, rounds }) => ({ name, label, rounds })),
    rows,
  });
  out.wallS = Math.round((Date.now() - started) / 1000);
  const file = join(RESULTS, 'compare-latest.json');
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`\n${heading('bench --compare', out, opt)}\n\n`);
  process.stdout.write(`${grid(['figure (median of the rounds; each round in brackets)', variants[0].label, variants[1].label, 'B / A'], rows)}\n\n`);
  process.stdout.write(`wrote ${file} (${out.wallS} s)\n`);
}

function log(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e.stack || e}\n`);
  procs.killAll();
  process.exit(1);
});
