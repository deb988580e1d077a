import { connect } from 'node:net';
import { BffHandle, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const MB = 1024 * 1024;
/** The upload the issue reported: well over BODY_LIMIT_BYTES (8 MB by default). */
const UPLOAD_BYTES = 20 * MB;
const CHUNK = Buffer.alloc(64 * 1024, 'a');

/** A 20 MB body as a stream that writes chunk after chunk, as a client uploading a file does. */
function streamedBody(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const n = Math.min(CHUNK.length, bytes - sent);
      sent += n;
      controller.enqueue(new Uint8Array(CHUNK.subarray(0, n)));
    },
  });
}

/** Sends the whole body over a raw socket while reading; resolves with everything the service sent back. */
function rawUpload(port: number, path: string, bytes: number, chunked: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', (err) => reject(new Error(`${err.message} after reading: ${JSON.stringify(answer.slice(0, 200))}`)));
    socket.on('close', () => resolve(answer));
    socket.on('connect', async () => {
      const length = chunked ? 'transfer-encoding: chunked' : `content-length: ${bytes}`;
      socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\nx-api-key: ${TEST_KEYS.reader}\r\ncontent-type: application/json\r\n${length}\r\n\r\n`);
      for (let sent = 0; sent < bytes; sent += CHUNK.length) {
        const data = chunked ? Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from('\r\n')]) : CHUNK;
        if (!socket.write(data)) await new Promise((r) => socket.once('drain', r));
        if (socket.destroyed) return;
      }
      if (chunked) socket.write('0\r\n\r\n');
      socket.end();
    });
  });
}

/** The body of an HTTP/1.1 answer with a Content-Length, parsed. */
function problemOf(answer: string): { status: number; body: { code: string; status: number } } {
  const [head, body] = answer.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), body: JSON.parse(body) };
}

/** A body over the limit gets a 413 the client reads while (or after) sending it, on every route. */
describe('asset-bff bodies over the limit', () => {
  let sim: SimHandle;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(5) } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });

  it.each(['/v1/orgs/o1/user-assets', '/v1/orgs/o1/access-checks', '/v1/orgs/o1/users/u0001/assets', '/no-such-route'])(
    'fetch with a streamed 20 MB body to %s reads 413 PAYLOAD_TOO_LARGE',
    async (path) => {
      await sim.admin.resetCounters();
      const res = await fetch(bff.url + path, {
        method: 'POST',
        headers: { 'x-api-key': TEST_KEYS.reader, 'content-type': 'application/json', 'content-length': String(UPLOAD_BYTES) },
        body: streamedBody(UPLOAD_BYTES),
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(await res.json()).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
      const counters = await sim.admin.counters();
      expect(counters.log).toHaveLength(0);
    },
  );

  it('a raw socket sending 20 MB with Content-Length reads the whole 413 answer, with no reset', async () => {
    const answer = await rawUpload(bff.port, '/v1/orgs/o1/user-assets', UPLOAD_BYTES, false);
    expect(problemOf(answer)).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE', status: 413 } });
  });

  it('a raw socket sending 20 MB chunked (no length known up front) reads the whole 413 answer, with no reset', async () => {
    const answer = await rawUpload(bff.port, '/v1/orgs/o1/access-checks', UPLOAD_BYTES, true);
    expect(problemOf(answer)).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE', status: 413 } });
  });

  it('the service is still answering afterwards', async () => {
    const res = await fetch(`${bff.url}/health/live`);
    expect(res.status).toBe(200);
  });
});
