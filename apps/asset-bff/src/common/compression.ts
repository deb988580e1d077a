import { pipeline, Readable, Transform } from 'node:stream';
import { promisify } from 'node:util';
import { brotliCompress, constants, createBrotliCompress, createGzip, gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { qValues } from './q-values';

declare module 'fastify' {
  interface FastifyReply {
    /** Set once the answer's coding was chosen (sendRead, setCoding): the compression hook leaves it as it is. */
    codingChosen: boolean;
  }
}

/** The content codings the service produces. */
export type Coding = 'br' | 'gzip';

/** Request headers of conditional reads and consistency, and the response headers a browser may read (CORS). */
export const HTTP_CACHING_REQUEST_HEADERS = ['If-None-Match', 'X-Consistency-Token', 'Accept'];
export const HTTP_CACHING_RESPONSE_HEADERS = ['ETag', 'X-Consistency-Token', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];

/** Answers smaller than this go out as they are: compressing them saves less than the coding costs (API.md section 3). */
export const MIN_COMPRESS_BYTES = 1024;
/** Longest Accept-Encoding read; a longer one is ignored (the answer goes out uncompressed). */
const MAX_ACCEPT_ENCODING = 1024;
/** Brotli quality: the middle of its range compresses JSON close to the best at a fraction of quality 11's cost. */
const BROTLI_QUALITY = 5;

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/**
 * The coding to answer with for this Accept-Encoding (RFC 9110 section 12.5.3): the highest q-value among `br` and
 * `gzip` (`*` stands for those not named), `br` on a tie; none when both are refused (`q=0`) or the header is absent.
 * Elements with a malformed q-value and unknown codings are ignored, as the RFC lets a server do.
 */
export function negotiate(acceptEncoding: string | undefined): Coding | undefined {
  if (!acceptEncoding || acceptEncoding.length > MAX_ACCEPT_ENCODING) return undefined;
  const q = qValues(acceptEncoding);
  const star = q.get('*') ?? 0;
  const br = q.get('br') ?? star;
  const gz = q.get('gzip') ?? q.get('x-gzip') ?? star;
  if (br <= 0 && gz <= 0) return undefined;
  return br >= gz ? 'br' : 'gzip';
}

/** The body compressed off the event loop (zlib's thread pool). */
export function compress(coding: Coding, body: Buffer): Promise<Buffer> {
  if (coding === 'gzip') return gzipAsync(body);
  return brotliAsync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
    },
  });
}

/** A compressing stream that flushes after every write, so each chunk of a stream reaches the caller when written. */
export function compressStream(coding: Coding): Transform {
  if (coding === 'gzip') return createGzip({ flush: constants.Z_SYNC_FLUSH });
  return createBrotliCompress({ flush: constants.BROTLI_OPERATION_FLUSH, params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY } });
}

/** Adds fields to the answer's Vary (each once), after those set before; the header is read and written once. */
export function addVary(reply: FastifyReply, ...fields: string[]): void {
  const current = reply.getHeader('vary');
  const list = typeof current === 'string' && current ? current.split(',').map((s) => s.trim()) : [];
  const before = list.length;
  for (const field of fields) if (!list.some((f) => f.toLowerCase() === field.toLowerCase())) list.push(field);
  if (list.length > before) reply.header('Vary', list.join(', '));
}

/** Marks the answer as sent in `coding`. */
export function setCoding(reply: FastifyReply, coding: Coding): void {
  reply.codingChosen = true;
  reply.header('Content-Encoding', coding);
  reply.removeHeader('content-length');
}

const isStream = (p: unknown): p is Readable => p instanceof Readable || (typeof p === 'object' && p !== null && typeof (p as Readable).pipe === 'function');

/**
 * The one place answers are compressed (fastify onSend): every answer of MIN_COMPRESS_BYTES or more, errors, batches,
 * streams and docs alike, in the coding Accept-Encoding prefers. Answers whose coding was chosen already (prepared
 * reads, coded or not) pass through. A callback hook rather than an async one: most answers pass through at once.
 */
export function installCompression(fastify: FastifyInstance): void {
  fastify.decorateReply('codingChosen', false);
  fastify.addHook('onSend', compressionHook);
}

function compressionHook(req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void): void {
  const status = reply.statusCode;
  // Content-Encoding set by another plugin (say, a precompressed static file) is left alone too.
  if (reply.codingChosen || req.method === 'HEAD' || status === 204 || status === 304 || reply.hasHeader('content-encoding')) return done(null, payload);
  if (isStream(payload)) {
    const length = Number(reply.getHeader('content-length') ?? Number.NaN);
    if (length < MIN_COMPRESS_BYTES) return done(null, payload);
    addVary(reply, 'Accept-Encoding');
    const coding = negotiate(req.headers['accept-encoding']);
    if (!coding) return done(null, payload);
    setCoding(reply, coding);
    // pipeline rather than pipe: a failing source also ends the compressed stream (and the answer).
    return done(
      null,
      pipeline(payload, compressStream(coding), () => undefined),
    );
  }
  const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.isBuffer(payload) ? payload : undefined;
  if (!body || body.length < MIN_COMPRESS_BYTES) return done(null, payload);
  addVary(reply, 'Accept-Encoding');
  const coding = negotiate(req.headers['accept-encoding']);
  if (!coding) return done(null, payload);
  compress(coding, body).then(
    (out) => {
      setCoding(reply, coding);
      done(null, out);
    },
    (err: Error) => done(err),
  );
}
