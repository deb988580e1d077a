import { createServer, get, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { AnswerBytes, answerBytes, AnswerParts, endWith, JOIN_BELOW, joinedBytes } from './answer-bytes';
import { sendJsonBytes } from './http';

/** `n` bytes of letter `c`. (Large buffers are compared with equals(): toEqual walks them byte by byte, for seconds.) */
const bytes = (n: number, c = 'a'): Buffer => Buffer.alloc(n, c);

/** GET of a local server: status, content-length and the bytes received. */
function fetchBytes(port: number): Promise<{ status?: number; length?: string; type?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, length: res.headers['content-length'], type: res.headers['content-type'], body: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('answerBytes', () => {
  it('joins parts into one buffer below JOIN_BELOW bytes in all', () => {
    const parts = [Buffer.from('{"a":['), bytes(1000), new TextEncoder().encode(']}')];
    const body = answerBytes(parts);
    expect(Buffer.isBuffer(body)).toBe(true);
    expect(body).toEqual(Buffer.concat(parts));
    expect(answerBytes([])).toEqual(Buffer.alloc(0));
  });

  it('keeps a large answer in parts: large parts as they are, each run of small ones joined, empty ones left out', () => {
    const big = [bytes(300_000, 'b'), new Uint8Array(bytes(400_000, 'c')), bytes(500_000, 'd')];
    const parts = [Buffer.from('{'), Buffer.from('"x":'), big[0], Buffer.alloc(0), Buffer.from(','), big[1], ...Array.from({ length: 3_000 }, () => bytes(30, 'e')), big[2], Buffer.from('}')];
    const body = answerBytes(parts);
    expect(body).toBeInstanceOf(AnswerParts);
    const out = (body as AnswerParts).parts;
    // the large parts are the very objects given
    for (const b of big) expect(out).toContain(b);
    // '{' + '"x":' joined; ','; the 3,000 small ones in runs of at least 64 KB (but the last); '}'
    expect(out[0].toString()).toBe('{"x":');
    expect(out.length).toBeLessThan(10);
    expect(joinedBytes(body).equals(Buffer.concat(parts))).toBe(true);
    expect((body as AnswerParts).length).toBe(Buffer.concat(parts).length);
  });

  it('streams the parts in order, and joins them on demand', async () => {
    const parts = [bytes(JOIN_BELOW, 'x'), Buffer.from('-'), bytes(70_000, 'y')];
    const body = answerBytes(parts) as AnswerParts;
    const streamed: Buffer[] = [];
    for await (const c of body.stream()) streamed.push(c as Buffer);
    expect(Buffer.concat(streamed).equals(Buffer.concat(parts))).toBe(true);
    expect(joinedBytes(body).equals(Buffer.concat(parts))).toBe(true);
  });
});

describe('answers written to real HTTP responses', () => {
  const large = (): AnswerBytes => answerBytes([Buffer.from('{"v":"'), bytes(2 * JOIN_BELOW, 'z'), Buffer.from('","w":'), bytes(200_000, '1'), Buffer.from('}')]);
  const small = (): AnswerBytes => answerBytes([Buffer.from('{"v":'), Buffer.from('1}')]);

  it('endWith writes one buffer or every part, after a head with its content-length', async () => {
    let body: AnswerBytes = small();
    const server: Server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      endWith(res, body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      for (const make of [small, large]) {
        body = make();
        const r = await fetchBytes(port);
        expect(r.status).toBe(200);
        expect(r.length).toBe(String(joinedBytes(body).length));
        expect(r.body.equals(joinedBytes(body))).toBe(true);
      }
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("sendJsonBytes sends parts through fastify's reply with their content-length (no chunked encoding)", async () => {
    let body: AnswerBytes = small();
    const app = Fastify();
    app.get('/', async (_req, reply) => sendJsonBytes(reply, body));
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const port = (app.server.address() as AddressInfo).port;
      for (const make of [small, large]) {
        body = make();
        const r = await fetchBytes(port);
        expect(r.status).toBe(200);
        expect(r.type).toBe('application/json; charset=utf-8');
        expect(r.length).toBe(String(joinedBytes(body).length));
        expect(r.body.equals(joinedBytes(body))).toBe(true);
      }
    } finally {
      await app.close();
    }
  });
});
