'use strict';
// Reads a V8 .cpuprofile (node --cpu-prof) and splits self time by where the code lives.
const { readFileSync } = require('node:fs');

/**
 * Category of one profile node, from its script URL and function name. Native frames without a URL
 * (writev, Buffer.byteLength's C++ side, unnamed builtins) take the category of their caller, so that
 * e.g. encoding a response string counts as http.
 */
function category(node, parentOf) {
  const url = node.callFrame.url || '';
  const fn = node.callFrame.functionName || '';
  if (fn === '(idle)' || fn === '(program)' || fn === '(root)') return fn === '(idle)' ? 'idle' : 'v8/program';
  if (fn === '(garbage collector)') return 'gc';
  if (/JSON\.(stringify|parse)|^stringify$|^parse$/.test(fn) && !url) return 'json';
  if (!url && parentOf) {
    const parent = parentOf(node);
    if (parent && parent.callFrame.functionName !== '(root)') return category(parent, parentOf);
  }
  // fastify's serializer is where JSON.stringify of a returned object runs (inlined)
  if (fn === 'serialize' && /fastify\/lib\/reply\.js$/.test(url)) return 'json';
  if (/node_modules\/lru-cache\//.test(url)) return 'app';
  if (/node_modules\/(ioredis|redis-parser|@ioredis|denque|cluster-key-slot|standard-as-callback)\//.test(url)) return 'redis';
  if (/node_modules\/(fast-json-stringify|secure-json-parse|fast-uri)\//.test(url)) return 'json';
  if (
    /node_modules\/(fastify|@fastify|light-my-request|find-my-way|avvio|fastq|toad-cache|abstract-logging|process-warning|rfdc|content-type|ret|safe-regex2|on-exit-leak-free)\//.test(
      url,
    )
  )
    return 'http';
  if (
    /^node:(_http|http|net|stream|internal\/streams|internal\/http|internal\/stream_base|internal\/net|buffer|string_decoder|internal\/url|url|events|internal\/event_target)/.test(
      url,
    )
  )
    return 'http';
  if (/node_modules\/(@nestjs|rxjs|reflect-metadata|path-to-regexp|iterare|class-transformer|class-validator|@nuxtjs)\//.test(url)) return 'nest';
  if (
    /node_modules\/(pino|pino-http|nestjs-pino|sonic-boom|thread-stream|pino-std-serializers|fast-redact|quick-format-unescaped|atomic-sleep|safe-stable-stringify)\//.test(
      url,
    )
  )
    return 'logging';
  if (/node_modules\/(prom-client|tdigest|bintrees)\//.test(url)) return 'metrics';
  if (/node_modules\/(@fastify\/helmet|helmet)\//.test(url)) return 'http';
  if (/node_modules\/(axios|follow-redirects|form-data|proxy-from-env|cockatiel|dataloader)\//.test(url)) return 'upstream-client';
  if (/node_modules\/(jose)\//.test(url)) return 'auth';
  if (/node_modules\//.test(url)) return 'other-deps';
  if (/\/dist\/(apps|libs)\//.test(url)) return 'app';
  if (url.startsWith('node:') || !url) return 'node-internal';
  return 'app';
}

/**
 * Self time per category and the top self-time functions.
 * Returns {totalMs, busyMs, unsampledMs, shares:{cat: {ms, pctOfBusy}}, top:[{fn, url, line, ms, pct}]}.
 * A sample that comes more than GAP_US after the one before (the sampler runs every ~1 ms) is not given that
 * time: a stall of the whole VM (seen: 3.8 s) would otherwise be charged to whatever function the next sample
 * landed in. Such gaps are summed as unsampledMs.
 */
function analyze(file, topN = 20, window = {}) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parents = new Map();
  for (const n of prof.nodes) for (const c of n.children || []) parents.set(c, n);
  const memo = new Map();
  const parentOf = (n) => parents.get(n.id);
  const categoryOf = (n) => {
    let c = memo.get(n.id);
    if (c === undefined) memo.set(n.id, (c = category(n, parentOf)));
    return c;
  };
  const selfUs = new Map();
  const dt = prof.timeDeltas;
  // sample timestamps are CLOCK_MONOTONIC microseconds, like process.hrtime in the driver
  let t = prof.startTime;
  const from = window.fromUs ?? -Infinity;
  const to = window.toUs ?? Infinity;
  let unsampled = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    t += dt[i] || 0;
    if (t < from || t > to) continue;
    if ((dt[i] || 0) > GAP_US) {
      unsampled += dt[i];
      continue;
    }
    const id = prof.samples[i];
    selfUs.set(id, (selfUs.get(id) || 0) + (dt[i] || 0));
  }
  const cats = {};
  const fns = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    const c = categoryOf(n);
    total += us;
    if (c === 'idle') {
      idle += us;
      continue;
    }
    cats[c] = (cats[c] || 0) + us;
    const url = (n.callFrame.url || '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/dist\//, 'dist/');
    let name = n.callFrame.functionName || '(anonymous)';
    if (!url && c !== 'gc' && c !== 'v8/program') {
      // a native frame: name its JS caller, which is what one can change
      const p = parentOf(n);
      if (p)
        name = `${name === '(anonymous)' ? '(native)' : name} <- ${p.callFrame.functionName || '(anonymous)'} ${(p.callFrame.url || '').replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${p.callFrame.lineNumber + 1}`;
    }
    const key = `${name}|${url}|${n.callFrame.lineNumber + 1}`;
    fns.set(key, (fns.get(key) || 0) + us);
  }
  const busy = total - idle;
  const shares = {};
  for (const [c, us] of Object.entries(cats).sort((a, b) => b[1] - a[1])) shares[c] = { ms: Math.round(us / 1000), pct: round1((100 * us) / busy) };
  const top = [...fns.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, topN)
    .map(([k, us]) => {
      const [fn, url, line] = k.split('|');
      return { fn, url, line: Number(line), ms: Math.round(us / 1000), pct: round1((100 * us) / busy) };
    });
  return { totalMs: Math.round(total / 1000), busyMs: Math.round(busy / 1000), unsampledMs: Math.round(unsampled / 1000), shares, top };
}

const round1 = (x) => Math.round(x * 10) / 10;
/** Longest time between two samples that is still charged to the second one. */
const GAP_US = 100_000;

module.exports = { analyze, category };
