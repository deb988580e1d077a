'use strict';
// The cost of tracing on the hot single-user read: a service with tracing off against one exporting every span
// (100% sampling, OTLP/HTTP protobuf to a sink that discards), same load, rounds interleaved.
const { createServer } = require('node:http');
const { cannon } = require('../lib/cannon');
const { request } = require('../lib/http');
const { BENCH_KEY, startBff } = require('../lib/procs');
const { fmt } = require('../lib/report');
const { HOT_ORG, HOT_USERS, userIds } = require('./setup');

const ROUNDS = 3;
const LOAD_PROCESSES = 2;
const CONNECTIONS = 64;
const auth = { 'x-api-key': BENCH_KEY };

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** An OTLP/HTTP endpoint that reads and discards what it gets, counting exports and bytes. */
async function startSink() {
  const seen = { exports: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (d) => (seen.bytes += d.length));
    req.on('end', () => {
      seen.exports += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, stop: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
}

/** One GET of every hot user, so that each instance's steady read is a prepared answer from its in-process copy. */
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

/**
 * Hot single-user reads against two fresh instances on the same Redis: tracing off, and tracing on with every request
 * sampled. ROUNDS rounds, the order alternating; each figure is the median round, the ratios are taken round by round.
 */
async function run(ctx, load) {
  const sink = await startSink();
  const paths = userIds(HOT_ORG, HOT_USERS).map((u) => `/v1/orgs/${HOT_ORG}/users/${u}/assets`);
  const off = await startBff(ctx.sim, { env: ctx.serviceEnv });
  const on = await startBff(ctx.sim, {
    env: { ...ctx.serviceEnv, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on' },
  });
  const runs = { off: [], on: [] };
  try {
    await warmPaths(off.url, paths);
    await warmPaths(on.url, paths);
    const measure = async (name, inst) => {
      const r = await cannon({ ...load, connections: CONNECTIONS, processes: LOAD_PROCESSES, url: inst.url, paths, headers: auth });
      if (r.non2xx || r.errors || r.timeouts) throw new Error(`tracing ${name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
      runs[name].push(r);
    };
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        await measure('off', off);
        await measure('on', on);
      } else {
        await measure('on', on);
        await measure('off', off);
      }
    }
  } finally {
    await on.stop();
    await off.stop();
    await sink.stop();
  }
  const pick = (rs) => {
    const m = median(rs.map((r) => r.reqPerSec));
    const r = rs.find((x) => x.reqPerSec === m);
    return { reqPerSec: r.reqPerSec, latencyMs: r.latencyMs };
  };
  const throughputRatios = runs.on.map((r, i) => r.reqPerSec / runs.off[i].reqPerSec);
  const p99Ratios = runs.on.map((r, i) => r.latencyMs.p99 / Math.max(1, runs.off[i].latencyMs.p99));
  return {
    rounds: ROUNDS,
    off: pick(runs.off),
    on: pick(runs.on),
    throughputRatios,
    medianThroughputRatio: median(throughputRatios),
    p99Ratios,
    medianP99Ratio: median(p99Ratios),
    exported: { ...sink.seen },
  };
}

/** The result table's rows for bench/run.js (`rows.push(...require('./scenarios/tracing').rows(res.tracing))`). */
function rows(t) {
  const s = 'hot single read: tracing off vs on (100% sampled, OTLP/HTTP)';
  return [
    { scenario: s, figure: 'req/s off / on', value: `${fmt(t.off.reqPerSec)} / ${fmt(t.on.reqPerSec)}` },
    { scenario: s, figure: 'p99 ms off / on', value: `${fmt(t.off.latencyMs.p99, 1)} / ${fmt(t.on.latencyMs.p99, 1)}` },
    { scenario: s, figure: `throughput on/off (median of ${t.rounds} rounds)`, value: fmt(t.medianThroughputRatio, 2) },
    { scenario: s, figure: 'OTLP exports / MB received', value: `${fmt(t.exported.exports)} / ${fmt(t.exported.bytes / 1e6, 1)}` },
  ];
}

module.exports = { run, rows };
