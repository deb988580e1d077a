import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';

/** An answer as it came over the wire: fetch would decode Content-Encoding itself, hiding what was sent. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Trailer fields sent after a chunked body. */
  trailers: Record<string, string | undefined>;
  /** The body bytes exactly as received. */
  raw: Buffer;
  /** The body decoded from its Content-Encoding. */
  decoded: Buffer;
  json(): any;
}

/** Decodes a body by its Content-Encoding (br, gzip or none). */
export function decode(raw: Buffer, coding: string | undefined): Buffer {
  if (coding === 'br') return brotliDecompressSync(raw);
  if (coding === 'gzip') return gunzipSync(raw);
  if (coding === undefined) return raw;
  throw new Error(`unexpected Content-Encoding ${coding}`);
}

/** One HTTP request with node:http; the body is read whole. */
export function rawCall(url: string, method: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const decoded = decode(raw, res.headers['content-encoding']);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, raw, decoded, json: () => JSON.parse(decoded.toString()) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
