import { once } from 'node:events';
import { createServer as createHttpServer, Server } from 'node:http';
import { AddressInfo, createServer as createTcpServer, Socket } from 'node:net';
import { join } from 'node:path';

/** The bench's timed-read client (plain JS under bench/lib). */
interface LeanAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  bytes: number;
  ms: number;
  startedAt: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lean = require(join(__dirname, '..', '..', 'bench', 'lib', 'lean-read.js')) as {
  leanRequest: (url: string, opts?: { method?: string; headers?: Record<string, string>; body?: unknown }) => Promise<LeanAnswer>;
  reserve: (bytes: number) => void;
  closeAll: () => void;
};

const urlOf = (s: Server | ReturnType<typeof createTcpServer>, path: string): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}${path}`;

describe('bench timed-read client (lean-read) against real servers', () => {
  let http: Server;
  let seen: { method?: string; url?: string; body: string; headers: Record<string, unknown> }[];
  const big = Buffer.alloc(20 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i++) big[i] = 32 + (i % 90);

  beforeAll(async () => {
    seen = [];
    http = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, body, headers: req.headers });
        res.setHeader('x-cache', 'MISS');
        if (req.url === '/big') {
          // written in pieces, as the service writes an answer's parts
          res.setHeader('content-length', big.length);
          for (let i = 0; i < big.length; i += 1_000_000) res.write(big.subarray(i, Math.min(big.length, i + 1_000_000)));
          res.end();
        } else if (req.url === '/empty') {
          res.statusCode = 204;
          res.end();
        } else if (req.url === '/chunked') {
          res.write('{"a":');
          res.end('1}');
        } else res.end(JSON.stringify({ echo: body, text: 'ünïcödé 中文' }));
      });
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
  });
  afterAll(() => {
    lean.closeAll();
    return new Promise<void>((r) => http.close(() => r()));
  });

  it('reads a 20 MB answer byte for byte, past the body buffer it reserved, with its status, headers and timing', async () => {
    lean.reserve(1024 * 1024);
    const before = Date.now();
    const r = await lean.leanRequest(urlOf(http, '/big'), { headers: { 'x-api-key': 'fake-key-for-tests' } });
    expect(r.status).toBe(200);
    expect(r.headers['x-cache']).toBe('MISS');
    expect(r.bytes).toBe(big.length);
    expect(Buffer.from(r.text, 'utf8').equals(big)).toBe(true);
    expect(r.ms).toBeGreaterThan(0);
    expect(r.startedAt).toBeGreaterThanOrEqual(before - 1);
    expect(seen.at(-1)?.headers['x-api-key']).toBe('fake-key-for-tests');
    // the buffers are reused: a second answer is read as well
    const again = await lean.leanRequest(urlOf(http, '/big'));
    expect(Buffer.from(again.text, 'utf8').equals(big)).toBe(true);
  });

  it('sends a JSON body with its content-type and length, and decodes a UTF-8 answer', async () => {
    const r = await lean.leanRequest(urlOf(http, '/echo?x=1'), { method: 'POST', body: { userIds: ['u1', 'u2'] }, headers: { 'cache-control': 'no-cache' } });
    expect(JSON.parse(r.text)).toEqual({ echo: '{"userIds":["u1","u2"]}', text: 'ünïcödé 中文' });
    const req = seen.at(-1);
    expect(req).toMatchObject({ method: 'POST', url: '/echo?x=1' });
    expect(req?.headers).toMatchObject({ 'content-type': 'application/json', 'content-length': '23', 'cache-control': 'no-cache' });
  });

  it('reads an answer of no body', async () => {
    const r = await lean.leanRequest(urlOf(http, '/empty'));
    expect(r).toMatchObject({ status: 204, text: '', bytes: 0 });
  });

  it('rejects an answer without a content-length, and a second request while one is running', async () => {
    await expect(lean.leanRequest(urlOf(http, '/chunked'))).rejects.toThrow(/without a content-length/);
    const first = lean.leanRequest(urlOf(http, '/echo'));
    await expect(lean.leanRequest(urlOf(http, '/echo'))).rejects.toThrow(/one request at a time/);
    expect((await first).status).toBe(200);
  });

  it('reads a head split over several packets, and rejects an answer cut short', async () => {
    const sockets: Socket[] = [];
    const raw = createTcpServer((s) => {
      sockets.push(s);
      s.once('data', (req: Buffer) => {
        const cut = req.toString('latin1').startsWith('GET /cut');
        s.write('HTTP/1.1 200 OK\r\nContent-Le');
        setTimeout(() => s.write('ngth: 10\r\nX-Part: two\r'), 20);
        setTimeout(() => s.write('\n\r\n0123'), 40);
        setTimeout(() => (cut ? s.end() : s.end('456789')), 60);
      });
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    try {
      const r = await lean.leanRequest(urlOf(raw, '/split'));
      expect(r).toMatchObject({ status: 200, text: '0123456789', bytes: 10 });
      expect(r.headers['x-part']).toBe('two');
      await expect(lean.leanRequest(urlOf(raw, '/cut'))).rejects.toThrow(/closed after 4 of 10 body bytes/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });

  it('keeps its connection from answer to answer, and replaces a kept one the server closed before answering', async () => {
    let connections = 0;
    const sockets: Socket[] = [];
    const raw = createTcpServer((s) => {
      connections++;
      sockets.push(s);
      let requests = 0;
      s.on('data', () => {
        requests++;
        // the third request on a connection is dropped unanswered (as a server closing an idle connection would)
        if (requests === 3) s.destroy();
        else s.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n${requests}${connections}`);
      });
    });
    raw.listen(0, '127.0.0.1');
    await once(raw, 'listening');
    try {
      expect((await lean.leanRequest(urlOf(raw, '/a'))).text).toBe('11');
      expect((await lean.leanRequest(urlOf(raw, '/b'))).text).toBe('21');
      expect(connections).toBe(1);
      // dropped on the kept connection, answered on a new one
      expect((await lean.leanRequest(urlOf(raw, '/c'))).text).toBe('12');
      expect(connections).toBe(2);
    } finally {
      lean.closeAll();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });
});
