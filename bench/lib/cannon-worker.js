'use strict';
// Runs autocannon in its own process (so the load generator never shares an event loop with what it
// measures) and prints one JSON line with the result. Input: a JSON spec file path as argv[2]:
// {url, connections, durationS, warmupS, method, headers, paths?: string[], bodies?: string[],
//  mix?: [{method, headers, paths?, bodies?}] (a sequence of request kinds per connection)}
// Paths and bodies are cycled over requests (a shared counter), e.g. 10,000 distinct users.
const autocannon = require('autocannon');
const { readFileSync } = require('node:fs');

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function run(durationS) {
  let n = 0;
  const paths = spec.paths;
  const bodies = spec.bodies;
  const opts = {
    url: spec.url,
    connections: spec.connections,
    duration: durationS,
    method: spec.method || 'GET',
    headers: spec.headers || {},
    timeout: spec.timeoutS || 30,
  };
  if (spec.mix) {
    // a sequence of request kinds per connection, each cycling its own paths/bodies
    opts.requests = spec.mix.map((m) => {
      let k = 0;
      return {
        method: m.method || 'GET',
        headers: m.headers || spec.headers || {},
        setupRequest: (req) => {
          const i = k++;
          if (m.paths) req.path = m.paths[i % m.paths.length];
          if (m.bodies) req.body = m.bodies[i % m.bodies.length];
          return req;
        },
      };
    });
  } else if (paths || bodies) {
    opts.requests = [
      {
        setupRequest: (req) => {
          const k = n++;
          if (paths) req.path = paths[k % paths.length];
          if (bodies) req.body = bodies[k % bodies.length];
          return req;
        },
      },
    ];
  }
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

(async () => {
  if (spec.warmupS > 0) await run(spec.warmupS);
  const r = await run(spec.durationS);
  const out = {
    requests: r.requests.total,
    durationS: r.duration,
    reqPerSec: r.requests.total / r.duration,
    reqPerSecMean: r.requests.average,
    bytesPerSec: r.throughput.average,
    bytesTotal: r.throughput.total,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: r.latency.average },
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes: r.statusCodeStats,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
})().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
