import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

/**
 * A large answer's bytes as the parts it was built from (the pages' or chunks' bytes as the page workers made
 * them), written one after another instead of joined first. Joining a 16 MB answer took 14–40 ms on this machine
 * (a buffer of fresh pages filled by the kernel on first touch, then a GC pass that the new external memory
 * prompts) right after the last upstream answer, that is on the critical path of a cold read.
 */
export class AnswerParts {
  /** Bytes in all. */
  readonly length: number;

  constructor(readonly parts: readonly Uint8Array[]) {
    let n = 0;
    for (const p of parts) n += p.byteLength;
    this.length = n;
  }

  /** The parts as a stream, for fastify's send (which pipes it to the response). */
  stream(): Readable {
    let i = 0;
    const parts = this.parts;
    return new Readable({
      read() {
        while (i < parts.length) if (!this.push(parts[i++])) return;
        this.push(null);
      },
    });
  }
}

/** An answer's JSON bytes: one buffer, or parts sent one after another. */
export type AnswerBytes = Buffer | AnswerParts;

/** Below this many bytes in all, the parts are joined (one write, and the joining costs little). */
export const JOIN_BELOW = 1024 * 1024;
/** Consecutive parts shorter than this are joined with each other (a comma, a head, many small elements). */
const SMALL_PART = 64 * 1024;

/**
 * The bytes of `parts` one after another: one buffer when they are few bytes in all (under JOIN_BELOW), else
 * AnswerParts, the large parts as they are and each run of small ones joined.
 */
export function answerBytes(parts: readonly Uint8Array[]): AnswerBytes {
  let total = 0;
  for (const p of parts) total += p.byteLength;
  if (total < JOIN_BELOW) return Buffer.concat(parts, total);
  const out: Uint8Array[] = [];
  let small: Uint8Array[] = [];
  let smallBytes = 0;
  const flush = (): void => {
    if (small.length > 0) out.push(small.length === 1 ? small[0] : Buffer.concat(small, smallBytes));
    small = [];
    smallBytes = 0;
  };
  for (const p of parts) {
    if (p.byteLength === 0) continue;
    if (p.byteLength >= SMALL_PART) {
      flush();
      out.push(p);
      continue;
    }
    small.push(p);
    smallBytes += p.byteLength;
    if (smallBytes >= SMALL_PART) flush();
  }
  flush();
  return new AnswerParts(out);
}

/** The answer as one buffer (joining parts: for tests and callers that need it whole). */
export function joinedBytes(body: AnswerBytes): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.concat(body.parts, body.length);
}

/** Writes the answer's bytes to a response whose head (with content-length) is written or set, and ends it. */
export function endWith(res: ServerResponse, body: AnswerBytes): void {
  if (Buffer.isBuffer(body)) {
    res.end(body);
    return;
  }
  // Each write is queued on the socket as it is (no copy); the socket writes them out as the peer reads.
  for (const p of body.parts) res.write(p);
  res.end();
}
