'use strict';
// The timed cold reads' HTTP client: one request at a time on a kept-alive connection per origin, its answer read
// into buffers that are allocated once and reused (net's `onread`), so that the driver makes no fresh memory while
// the answer arrives.
//
// Why: node:http hands each 64 KB read over as a new Buffer. Over a 16 MB answer that is 250 buffers of memory the
// driver's process never touched before (or touched, freed and gave back), and the first touch of each 4 KB page is
// a page fault: the driver's system time then lands on the two cores the service shares and lengthens the timed
// answer's tail. The driver's memory is not the service's speed; autocannon, which drives the hot scenarios, reads
// into reused buffers in the same way. The connection is kept, as node:http's agent kept it: a new one per read
// starts with small TCP windows, which slows a 16 MB answer down.
const net = require('node:net');

/** What a socket read lands in (net's onread buffer). */
const READ_BYTES = 256 * 1024;
const readBuffer = Buffer.alloc(READ_BYTES, 1);
/** The answer's body, grown (and touched) when an answer is longer than any before. */
let body = Buffer.alloc(0);
let busy = false;
/** Kept-alive connections by origin: { socket, onData, onEnd } (the running request's handlers). */
const connections = new Map();

/** Makes the body buffer hold `bytes`, touched now (call it outside any timed window). */
function reserve(bytes) {
  if (body.length >= bytes) return;
  let n = 1024 * 1024;
  while (n < bytes) n *= 2;
  body = Buffer.alloc(n, 1);
}

/** Closes the kept connections. */
function closeAll() {
  for (const c of connections.values()) c.socket.destroy();
  connections.clear();
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** The origin's kept connection, or a new one once connected. */
function connection(u) {
  const kept = connections.get(u.host);
  if (kept && !kept.socket.destroyed && kept.socket.writable) return Promise.resolve(kept);
  return new Promise((resolve, reject) => {
    const c = { socket: undefined, onData: undefined, onEnd: undefined };
    c.socket = net.connect({
      host: u.hostname,
      port: Number(u.port),
      onread: { buffer: readBuffer, callback: (n, buf) => c.onData?.(buf.subarray(0, n)) },
    });
    const gone = (err) => {
      if (connections.get(u.host) === c) connections.delete(u.host);
      c.onEnd?.(err);
    };
    c.socket.once('connect', () => {
      connections.set(u.host, c);
      resolve(c);
    });
    c.socket.once('error', (err) => {
      reject(err);
      gone(err);
    });
    c.socket.once('close', () => gone());
  });
}

/**
 * One HTTP/1.1 request whose answer has a content-length (or is a 204 or 304); resolves
 * {status, headers, text, bytes, ms, headMs, driverCpuMs, reads, startedAt}: ms from the request's first byte written to the
 * answer's last byte read, headMs to the end of its head, driverCpuMs the CPU time this process spent from the head to
 * the last byte, reads how many socket reads the answer took, startedAt the epoch ms of the request's first byte. One at a time (the
 * buffers are shared); the connection is made (or reused) before the clock starts, and a kept connection the server
 * closed before answering is replaced once.
 */
async function leanRequest(url, opts = {}) {
  if (busy) throw new Error('leanRequest: one request at a time');
  busy = true;
  try {
    const u = new URL(url);
    try {
      return await exchange(await connection(u), u, url, opts);
    } catch (err) {
      if (!err.retryable) throw err;
      return await exchange(await connection(u), u, url, opts);
    }
  } finally {
    busy = false;
  }
}

function exchange(c, u, url, { method = 'GET', headers = {}, body: payload } = {}) {
  const data = payload === undefined ? undefined : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const h = { host: u.host, ...headers };
  if (data !== undefined) {
    h['content-type'] = h['content-type'] || 'application/json';
    h['content-length'] = String(data.length);
  }
  const head = `${method} ${u.pathname}${u.search} HTTP/1.1\r\n${Object.entries(h)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const startedAt = performance.timeOrigin + performance.now();
    let headMs = 0;
    let headCpu;
    let headBytes = Buffer.alloc(0);
    let status = 0;
    let resHeaders = {};
    let length = -1;
    let got = 0;
    let received = 0;
    let reads = 0;
    const finish = (err, value) => {
      c.onData = undefined;
      c.onEnd = undefined;
      if (err || resHeaders.connection === 'close') c.socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const onBody = (chunk) => {
      const n = Math.min(chunk.length, length - got);
      chunk.copy(body, got, 0, n);
      got += n;
      if (got === length) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const cpu = process.cpuUsage(headCpu);
        const driverCpuMs = (cpu.user + cpu.system) / 1000;
        // decoded after the clock stopped
        const text = body.toString('utf8', 0, length);
        finish(undefined, { status, headers: resHeaders, text, bytes: length, ms, headMs, driverCpuMs, reads, startedAt });
      }
    };
    c.onData = (chunk) => {
      received += chunk.length;
      reads++;
      if (length >= 0) return onBody(chunk);
      headBytes = Buffer.concat([headBytes, chunk]);
      const end = headBytes.indexOf(HEAD_END);
      if (end < 0) return;
      headMs = Number(process.hrtime.bigint() - t0) / 1e6;
      headCpu = process.cpuUsage();
      const lines = headBytes.subarray(0, end).toString('latin1').split('\r\n');
      status = Number(lines[0].split(' ')[1]);
      resHeaders = {};
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        resHeaders[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      // 204 and 304 have no body (RFC 9110), whatever their headers say
      length = status === 204 || status === 304 ? 0 : Number(resHeaders['content-length']);
      if (!Number.isSafeInteger(length) || length < 0) return finish(new Error(`leanRequest: ${url} answered without a content-length`));
      reserve(length);
      const rest = headBytes.subarray(end + HEAD_END.length);
      if (length === 0 || rest.length > 0) onBody(rest);
    };
    c.onEnd = (err) => {
      const e = new Error(`leanRequest: ${url} closed after ${got} of ${length} body bytes${err ? ` (${err.message})` : ''}`);
      // a kept connection the server closed before any byte of this answer: the caller tries once more on a new one
      e.retryable = received === 0;
      finish(e);
    };
    c.socket.write(data === undefined ? head : Buffer.concat([Buffer.from(head), data]));
  });
}

module.exports = { leanRequest, reserve, closeAll };
