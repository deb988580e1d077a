'use strict';
// `node bench/run.js --soak [--soak-minutes N]`: mixed traffic for N minutes (default 10) against one
// service instance, with a fault injected every minute (simulator latency, simulator 5xx, Redis killed
// and restarted, Redis killed while the simulator fails, Redis evicting under a small maxmemory).
// BENCH_SOAK_FAULTS=double,eviction picks and orders the faults (keys below), for a short run of a few.
// Reports RSS, event-loop delay and error counts per minute, at the start and at the end.
// Writes bench/results/soak-latest.json.
const { execSync, spawnSync } = require('node:child_process');
const { cpus } = require('node:os');
const { join } = require('node:path');
const { writeFileSync } = require('node:fs');
const procs = require('../lib/procs');
const { cannon } = require('../lib/cannon');
const { request, simAdmin } = require('../lib/http');
const { fmt, table } = require('../lib/report');
const Redis = require('ioredis');
const setup = require('./setup');

const CONNECTIONS = 16;
const MINUTE_MS = 60_000;
/** When in each minute a fault starts and ends (ms). */
const FAULT_AT_MS = 10_000;
const FAULT_FOR_MS = 20_000;
/** The eviction minute: Redis limited to this share of what it holds then (at least EVICTION_MIN_BYTES), plus a filler. */
const EVICTION_SHARE = 0.5;
const EVICTION_MIN_BYTES = 2 * 1024 * 1024;
const FILLER_VALUE = 'x'.repeat(16 * 1024);
const FILLER_KEYS_PER_TICK = 8;
const FILLER_TICK_MS = 10;
/** Junk keys expire by themselves once the minute is over. */
const FILLER_KEY_TTL_MS = 30_000;
/** Fault schedule, cycled from minute 1 (minute 0 is clean, the reference). */
const FAULTS = [
  {
    key: 'latency',
    name: 'simulator latency 300 ms +-200',
    apply: (c) => simAdmin(c.sim, 'PUT', '/faults/*', { latencyMs: 300, latencyJitterMs: 200 }),
    clear: (c) => simAdmin(c.sim, 'DELETE', '/faults'),
  },
  {
    key: '5xx',
    name: 'simulator 5xx on 50% of calls',
    apply: (c) => simAdmin(c.sim, 'PUT', '/faults/*', { httpStatus: 503, errorRate: 0.5 }),
    clear: (c) => simAdmin(c.sim, 'DELETE', '/faults'),
  },
  { key: 'redis', name: 'Redis killed, restarted 20 s later', apply: (c) => c.redis.kill(), clear: (c) => c.redis.start() },
  {
    key: 'double',
    name: 'Redis killed while the simulator answers 5xx (double fault)',
    apply: async (c) => {
      await simAdmin(c.sim, 'PUT', '/faults/*', { httpStatus: 503 });
      await c.redis.kill();
    },
    clear: async (c) => {
      await c.redis.start();
      await simAdmin(c.sim, 'DELETE', '/faults');
    },
  },
  {
    key: 'eviction',
    name: 'Redis at a small maxmemory (allkeys-lru) with a filler writing junk',
    apply: async (c) => {
      const used = Number(c.redis.info('memory').used_memory) || 0;
      const limit = Math.max(EVICTION_MIN_BYTES, Math.round(used * EVICTION_SHARE));
      redisCli(c.redis, 'config', 'set', 'maxmemory-policy', 'allkeys-lru');
      redisCli(c.redis, 'config', 'set', 'maxmemory', String(limit));
      c.filler = startFiller(c.redis.url);
    },
    clear: async (c) => {
      await c.filler?.stop();
      redisCli(c.redis, 'config', 'set', 'maxmemory', '0');
    },
  },
];

/** The faults BENCH_SOAK_FAULTS names (all when unset), in its order. */
function faultSchedule() {
  const keys = (process.env.BENCH_SOAK_FAULTS || '').split(',').filter(Boolean);
  if (keys.length === 0) return FAULTS;
  const unknown = keys.filter((k) => !FAULTS.some((f) => f.key === k));
  if (unknown.length) throw new Error(`BENCH_SOAK_FAULTS: unknown ${unknown.join(', ')} (known: ${FAULTS.map((f) => f.key).join(', ')})`);
  return keys.map((k) => FAULTS.find((f) => f.key === k));
}

function redisCli(redis, ...args) {
  const r = spawnSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr || r.stdout}`);
}

/** Writes expiring junk keys into Redis until stopped, so that it keeps evicting. */
function startFiller(url) {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  let running = true;
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const p = client.pipeline();
      for (let i = 0; i < FILLER_KEYS_PER_TICK; i++) p.set(`soak-junk:${n}:${i}`, FILLER_VALUE, 'PX', FILLER_KEY_TTL_MS);
      await p.exec().catch(() => {});
      await sleep(FILLER_TICK_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      client.disconnect();
    },
  };
}

/** The figures a soak watches, from the service's /metrics (prom-client defaults with prefix abff_). */
async function scrape(base) {
  const r = await request(`${base}/metrics`).catch(() => undefined);
  if (!r || r.status !== 200) return {};
  const pick = (name) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(r.text);
    return m ? Number(m[1]) : undefined;
  };
  // Each series of the metric `name` whose line `labelRe` matches (all when none), summed by `keyOf(line)`.
  const sumBy = (name, labelRe, keyOf) => {
    const out = {};
    for (const line of r.text.split('\n')) {
      if (!line.startsWith(name)) continue;
      if (labelRe && !labelRe.test(line)) continue;
      const key = keyOf(line);
      out[key] = (out[key] || 0) + (Number(line.slice(line.lastIndexOf(' ') + 1)) || 0);
    }
    return out;
  };
  const sum = (name, labelRe) => sumBy(name, labelRe, () => 'all').all || 0;
  return {
    eventLoopLagP99Ms: (pick('abff_nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
    eventLoopLagMeanMs: (pick('abff_nodejs_eventloop_lag_mean_seconds') ?? NaN) * 1000,
    eventLoopLagMaxMs: (pick('abff_nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
    residentMb: (pick('abff_process_resident_memory_bytes') ?? NaN) / 1e6,
    heapUsedMb: (pick('abff_nodejs_heap_size_used_bytes') ?? NaN) / 1e6,
    heapTotalMb: (pick('abff_nodejs_heap_size_total_bytes') ?? NaN) / 1e6,
    // Buffers (prepared answers and their codings) live outside the V8 heap.
    externalMb: (pick('abff_nodejs_external_memory_bytes') ?? NaN) / 1e6,
    requests: sum('abff_http_request_duration_seconds_count'),
    responses5xx: sum('abff_http_request_duration_seconds_count', /status="5\d\d"/),
    redisErrors: sum('abff_redis_errors_total'),
    staleAnswers: sum('abff_cache_results_total', /result="stale"/),
    upstreamFailures: sum('abff_upstream_calls_total', /outcome="(?!success|ok)[^"]*"/),
    // 5xx answers so far by route and status (from the request-duration histogram's counts)
    responses5xxByRoute: sumBy(
      'abff_http_request_duration_seconds_count',
      /status="5\d\d"/,
      (line) => `${/route="([^"]*)"/.exec(line)?.[1] ?? '?'} ${/status="(5\d\d)"/.exec(line)[1]}`,
    ),
  };
}

function mix() {
  const auth = { 'x-api-key': procs.BENCH_KEY };
  const json = { ...auth, 'content-type': 'application/json' };
  const users = setup.userIds(setup.HOT_ORG, setup.HOT_USERS);
  const chunk = (k, n) => users.slice((k * n) % users.length, ((k * n) % users.length) + n);
  return [
    { method: 'GET', headers: auth, paths: users.map((u) => `/v1/orgs/${setup.HOT_ORG}/users/${u}/assets`) },
    { method: 'GET', headers: auth, paths: users.slice(0, 2000).map((u) => `/v1/orgs/${setup.HOT_ORG}/users/${u}/assets/${setup.HOT_ORG}-a0007`) },
    {
      method: 'POST',
      headers: json,
      paths: [`/v1/orgs/${setup.HOT_ORG}/user-assets`],
      bodies: Array.from({ length: 20 }, (_, k) => JSON.stringify({ userIds: chunk(k, 100) })),
    },
    {
      method: 'POST',
      headers: json,
      paths: [`/v1/orgs/${setup.HOT_ORG}/access-checks`],
      bodies: Array.from({ length: 20 }, (_, k) =>
        JSON.stringify({ checks: chunk(k, 100).map((u, i) => ({ userId: u, assetId: `${setup.HOT_ORG}-a${String((i % 100) + 1).padStart(4, '0')}` })) }),
      ),
    },
    // a cold read now and then: the fresh result goes upstream even while healthy
    { method: 'GET', headers: { ...auth, 'cache-control': 'no-cache' }, paths: users.slice(0, 500).map((u) => `/v1/orgs/${setup.HOT_ORG}/users/${u}/assets`) },
    { method: 'GET', headers: auth, paths: users.map((u) => `/v1/orgs/${setup.HOT_ORG}/users/${u}/assets`) },
  ];
}

async function main(opt) {
  const minutes = Math.max(1, Math.round(opt.soakMinutes || 10));
  const started = Date.now();
  const faults = faultSchedule();
  const out = {
    commit: null,
    date: new Date().toISOString(),
    cpus: cpus().length,
    node: process.version,
    minutes,
    connections: CONNECTIONS,
    faults: faults.map((f) => f.name),
    minutesLog: [],
  };
  try {
    out.commit = execSync('git rev-parse HEAD', { cwd: procs.ROOT, encoding: 'utf8' }).trim();
  } catch {
    /* not a git checkout */
  }
  const stops = [];
  try {
    const redis = new procs.OwnRedis(await procs.freePort());
    await redis.start();
    stops.push(() => redis.stop());
    const sim = await procs.startSim();
    stops.push(() => sim.stop());
    const svc = await procs.startBff(sim, { env: { REDIS_URL: redis.url, PORTAL_TIMEOUT_MS: 2_000 } });
    stops.push(() => svc.stop());
    const ctx = { redis, sim, svc };
    const warnings = watchWarnings(svc.proc);
    await setup.createHotOrg(sim);
    await setup.warm(svc.url, setup.HOT_ORG, setup.userIds(setup.HOT_ORG, setup.HOT_USERS));
    out.start = { rssMb: procs.rssMb(svc.pid), ...(await scrape(svc.url)) };
    const requests = mix();
    for (let m = 0; m < minutes; m++) {
      const fault = m === 0 ? undefined : faults[(m - 1) % faults.length];
      const t0 = Date.now();
      const load = cannon({
        url: svc.url,
        connections: CONNECTIONS,
        durationS: Math.round((MINUTE_MS - 2_000) / 1000),
        warmupS: 0,
        mix: requests,
        timeoutS: 10,
      });
      let faultRun = Promise.resolve();
      if (fault) {
        faultRun = (async () => {
          await sleep(FAULT_AT_MS);
          await fault.apply(ctx);
          await sleep(FAULT_FOR_MS);
          await fault.clear(ctx);
        })();
      }
      const [r] = await Promise.all([load, faultRun]);
      const metrics = await scrape(svc.url);
      const serviceWarnings = warnings.take();
      const row = {
        minute: m + 1,
        fault: fault ? fault.name : 'none',
        reqPerSec: r.reqPerSec,
        p99Ms: r.latencyMs.p99,
        non2xx: r.non2xx,
        socketErrors: r.errors,
        timeouts: r.timeouts,
        statusCodes: Object.fromEntries(Object.entries(r.statusCodes).map(([k, v]) => [k, v.count])),
        rssMb: procs.rssMb(svc.pid),
        ...metrics,
        serviceWarnings,
      };
      out.minutesLog.push(row);
      process.stderr.write(
        `[soak] minute ${m + 1}/${minutes} (${row.fault}): ${fmt(row.reqPerSec)} req/s, ${row.non2xx} non-2xx, ${row.socketErrors} errors, RSS ${row.rssMb} MB, loop p99 ${fmt(row.eventLoopLagP99Ms, 1)} ms${Object.keys(serviceWarnings).length ? `; service log: ${JSON.stringify(serviceWarnings)}` : ''}\n`,
      );
      const left = MINUTE_MS - (Date.now() - t0);
      if (left > 0 && m < minutes - 1) await sleep(left);
    }
    out.end = { rssMb: procs.rssMb(svc.pid), ...(await scrape(svc.url)) };
    out.serviceAlive = svc.proc.exitCode === null;
    out.wallS = Math.round((Date.now() - started) / 1000);
    const file = join(__dirname, '..', 'results', 'soak-latest.json');
    writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    const rows = out.minutesLog.map((r) => ({
      scenario: `minute ${r.minute}`,
      figure: r.fault,
      value: `${fmt(r.reqPerSec)} req/s, p99 ${fmt(r.p99Ms)} ms, non-2xx ${r.non2xx} ${JSON.stringify(r.statusCodes)}, errors ${r.socketErrors}, RSS ${fmt(r.rssMb, 1)} MB, loop p99 ${fmt(r.eventLoopLagP99Ms, 1)} ms`,
    }));
    const se = (x) =>
      `RSS ${fmt(x.rssMb, 1)} MB, heap ${fmt(x.heapUsedMb, 1)}/${fmt(x.heapTotalMb, 1)} MB, external ${fmt(x.externalMb, 1)} MB, loop lag mean/p99/max ${fmt(x.eventLoopLagMeanMs, 1)}/${fmt(x.eventLoopLagP99Ms, 1)}/${fmt(x.eventLoopLagMaxMs, 1)} ms, 5xx ${fmt(x.responses5xx)}, redis errors ${fmt(x.redisErrors)}, upstream failures ${fmt(x.upstreamFailures)}, requests ${fmt(x.requests)}`;
    rows.unshift({ scenario: 'start', figure: 'after warm-up, before traffic', value: se(out.start) });
    rows.push({ scenario: 'end', figure: `after ${minutes} min`, value: se(out.end) });
    process.stdout.write(
      `\nasset-bff soak  commit ${out.commit?.slice(0, 12)}  ${out.date}  ${out.cpus} CPUs  ${minutes} min\n\n${table(rows.map((r) => ({ ...r, target: '', met: null })))}\n\nwrote ${file}\n`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    procs.killAll();
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The service's log lines (it runs at LOG_LEVEL=warn: warnings and errors only), counted by message with its
 * numbers as '#', so that each minute's row says what the service reported (a circuit that opened, a Redis that
 * went away, the errors behind any 5xx). `take()` gives the counts since the last take.
 */
function watchWarnings(proc) {
  let counts = {};
  let rest = '';
  const onData = (d) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop();
    for (const line of lines) {
      if (!line.trim()) continue;
      let msg = line;
      try {
        const o = JSON.parse(line);
        msg = [o.msg, o.err?.message, o.code].filter(Boolean).join(' | ') || line;
      } catch {
        /* not JSON: the line itself */
      }
      const key = msg.replace(/\d+/g, '#').slice(0, 200);
      counts[key] = (counts[key] || 0) + 1;
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  return {
    take() {
      const out = counts;
      counts = {};
      return out;
    },
  };
}

module.exports = { main };
