'use strict';
// Small HTTP helpers for the benchmark driver: JSON calls to the service, the simulator's admin API and
// signed portal calls (for timing the simulator itself).
const http = require('node:http');
const { join } = require('node:path');
const { BENCH_KEY } = require('./procs');

const contracts = require(join(__dirname, '..', '..', 'dist', 'libs', 'portal-contracts', 'src', 'index.js'));
/** Unlimited sockets, so that N concurrent requests really are N concurrent connections. */
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** One request; resolves {status, headers, text, ms} (ms = wall time until the last byte). */
function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const h = { ...headers };
    if (data !== undefined) {
      h['content-type'] = h['content-type'] || 'application/json';
      h['content-length'] = Buffer.byteLength(data);
    }
    const t0 = process.hrtime.bigint();
    const req = http.request(url, { method, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        // timed at the last byte, before the driver's own decoding of the body
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, text: buf.toString('utf8'), bytes: buf.length, ms });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** A call to the service with the bench API key. */
function bff(base, method, path, body, headers = {}) {
  return request(base + path, { method, body, headers: { 'x-api-key': BENCH_KEY, ...headers } });
}

/** The simulator admin API; throws on a non-2xx. */
async function simAdmin(sim, method, path, body) {
  const r = await request(`${sim.url}/__sim${path}`, { method, body });
  if (r.status >= 300) throw new Error(`${method} /__sim${path} -> ${r.status} ${r.text.slice(0, 300)}`);
  return r.text ? JSON.parse(r.text) : undefined;
}

async function appToken(sim) {
  const timestamp = Date.now();
  const r = await request(sim.url + contracts.PortalPaths.tokenGet, {
    method: 'POST',
    body: { appKey: sim.appKey, encryption: contracts.tokenEncryption(sim.appKey, timestamp, sim.appSecret), timestamp },
  });
  return JSON.parse(r.text).data.accessToken;
}

/** A signed portal call straight to the simulator (what the service's portal client does). */
async function signedPost(sim, token, path, body) {
  const text = JSON.stringify(body);
  const timestamp = Date.now();
  const signature = contracts.requestSignature(token, contracts.signingParams({}, text), timestamp, sim.appSecret);
  return request(sim.url + path, {
    method: 'POST',
    body: text,
    headers: {
      [contracts.ApimHeaders.accessToken]: token,
      [contracts.ApimHeaders.timestamp]: String(timestamp),
      [contracts.ApimHeaders.signature]: signature,
    },
  });
}

/** Runs fn over items with at most `limit` in flight. */
async function pool(items, limit, fn) {
  let next = 0;
  const out = new Array(items.length);
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

module.exports = { request, bff, simAdmin, appToken, signedPost, pool, contracts, agent };
