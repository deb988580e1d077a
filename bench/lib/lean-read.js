'use strict';
// The timed cold reads' HTTP client: one request on its own connection, its answer read into buffers that are
// allocated once and reused (net's `onread`), so that the driver makes no fresh memory while the answer arrives.
//
// Why: node:http hands each 64 KB read over as a new Buffer. Over a 16 MB answer that is 250 buffers of memory the
// driver's process never touched before (or touched, freed and gave back), and the first touch of each 4 KB page is
// a page fault: measured on this VM (2026-12-02), the driver spent 74-91 ms of system time and 34-80 ms of user time
// receiving the org merge's answer when its chunks landed in fresh memory, against 17-42 ms and 3-22 ms when they
// did not, on the two cores the service shares; the answer's tail after the last upstream answer was 130-180 ms
// instead of 35-65 ms. The driver's memory is not the service's speed; autocannon, which drives the hot scenarios,
// reads into reused buffers in the same way.
const net = require('node:net');

/** What a socket read lands in (net's onread buffer). */
const READ_BYTES = 256 * 1024;
const readBuffer = Buffer.alloc(READ_BYTES, 1);
/** The answer's body, grown (and touched) when an answer is longer than any before. */
let body = Buffer.alloc(0);
let busy = false;

/** Makes the body buffer hold `bytes`, touched now (call it outside any timed window). */
function reserve(bytes) {
  if (body.length >= bytes) return;
  let n = 1024 * 1024;
  while (n < bytes) n *= 2;
  body = Buffer.alloc(n, 1);
}

const HEAD_END = Buffer.from('\r\n\r\n');

/**
 * One HTTP/1.1 request (`Connection: close`) whose answer has a content-length (or is a 204 or 304); resolves
 * {status, headers, text, bytes, ms, startedAt}: ms from the request's first byte written to the answer's last byte
 * read, startedAt the epoch ms of the former.
 * One at a time (the buffers are shared); the connection is made before the clock starts.
 */
function leanRequest(url, { method = 'GET', headers = {}, body: payload } = {}) {
  if (busy) return Promise.reject(new Error('leanRequest: one request at a time'));
  busy = true;
  const u = new URL(url);
  const data = payload === undefined ? undefined : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const h = { host: u.host, connection: 'close', ...headers };
  if (data !== undefined) {
    h['content-type'] = h['content-type'] || 'application/json';
    h['content-length'] = String(data.length);
  }
  const head = `${method} ${u.pathname}${u.search} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    let t0 = 0n;
    let startedAt = 0;
    let headBytes = Buffer.alloc(0);
    let status = 0;
    let resHeaders = {};
    let length = -1;
    let got = 0;
    let settled = false;
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      busy = false;
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const onBody = (chunk) => {
      const n = Math.min(chunk.length, length - got);
      chunk.copy(body, got, 0, n);
      got += n;
      if (got === length) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        // decoded after the clock stopped
        const text = body.toString('utf8', 0, length);
        finish(undefined, { status, headers: resHeaders, text, bytes: length, ms, startedAt });
      }
    };
    const socket = net.connect({
      host: u.hostname,
      port: Number(u.port),
      onread: {
        buffer: readBuffer,
        callback: (n, buf) => {
          const chunk = buf.subarray(0, n);
          if (length >= 0) return onBody(chunk);
          headBytes = Buffer.concat([headBytes, chunk]);
          const end = headBytes.indexOf(HEAD_END);
          if (end < 0) return;
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
          if (length === 0) return onBody(Buffer.alloc(0));
          if (rest.length > 0) onBody(rest);
        },
      },
    });
    socket.once('connect', () => {
      t0 = process.hrtime.bigint();
      startedAt = performance.timeOrigin + performance.now();
      socket.write(data === undefined ? head : Buffer.concat([Buffer.from(head), data]));
    });
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error(`leanRequest: ${url} closed after ${got} of ${length} body bytes`)));
  });
}

module.exports = { leanRequest, reserve };
