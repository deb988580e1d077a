import { createHash, Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { coldTurn } from '@app/asset-cache';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { addVary, Coding, compress, MIN_COMPRESS_BYTES, negotiate, setCoding } from './compression';
import { AppException } from './app.exception';

/** Read answers may be kept by the caller but must be revalidated (If-None-Match) before each use. */
const READ_CACHE_CONTROL = 'private, no-cache';
const READ_VARY = ['Accept-Encoding', 'Accept-Language'];
/** Longest If-None-Match read; a client never needs more than a few tags. */
const MAX_IF_NONE_MATCH = 2048;
const ENTITY_TAG = /^(?:W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;
/**
 * One element of an If-None-Match list at the position it is matched from: an entity tag (opaque part in group 1;
 * etagc allows commas, so the list cannot be split on them) or nothing, then a comma or the end.
 */
const LIST_ELEMENT = /[ \t]*(?:(?:W\/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|$)/y;

/**
 * Bytes of a big body hashed (etagOfSliced) or written (writtenSliced) per cold turn: a 16 MB body hashed at once, or
 * handed to one write that a local socket copies in one go, would hold the event loop.
 */
const BODY_SLICE_BYTES = 1024 * 1024;

/** The weak entity tag of an identity body: a hash of its bytes, so the same body has the same tag on every instance. */
export function etagOf(identity: Buffer): string {
  return tagOf(createHash('sha256').update(identity));
}

/** etagOf, hashing one slice of the body per cold turn (slicesOf). */
export async function etagOfSliced(identity: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for await (const slice of slicesOf(identity)) hash.update(slice);
  return tagOf(hash);
}

const tagOf = (hash: Hash): string => `W/"${hash.digest('base64url').slice(0, 32)}"`;

/**
 * An answer serialized once, its ETag, and its br/gzip bytes made lazily (once per coding, off the event loop).
 * Kept by AssetsService per entry version, language and page; built per request for answers that are not kept.
 */
export class PreparedAnswer {
  readonly etag: string;
  private readonly coded = new Map<Coding, Promise<Buffer>>();
  private codedBytes = 0;

  /** `onGrow` is told when a coding was added (so a byte-bounded cache can count it); `etag` is etagOf(identity), when known. */
  constructor(
    readonly identity: Buffer,
    private readonly onGrow?: (coding: Coding) => void,
    etag?: string,
  ) {
    this.etag = etag ?? etagOf(identity);
  }

  /** Bytes held: the identity body and every coding made so far. */
  get size(): number {
    return this.identity.length + this.codedBytes;
  }

  /** The body in `coding`, made on first use. */
  bytes(coding: Coding): Promise<Buffer> {
    let p = this.coded.get(coding);
    if (p === undefined) {
      p = compress(coding, this.identity);
      this.coded.set(coding, p);
      p.then(
        (b) => {
          this.codedBytes += b.length;
          this.onGrow?.(coding);
        },
        () => this.coded.delete(coding),
      );
    }
    return p;
  }
}

const badIfNoneMatch = (): AppException =>
  AppException.validation([{ field: 'If-None-Match', problems: ['must be * or a comma list of entity tags such as W/"abc"'] }]);

/** A validated If-None-Match: `*`, or the opaque parts of its tags (weak comparison ignores W/). */
export type IfNoneMatch = '*' | string[] | undefined;

/** Parses If-None-Match (RFC 9110 section 13.1.2); throws VALIDATION_FAILED naming it when malformed. */
export function parseIfNoneMatch(req: FastifyRequest): IfNoneMatch {
  const raw = req.headers['if-none-match'];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  if (value.length > MAX_IF_NONE_MATCH) throw badIfNoneMatch();
  if (value.trim() === '*') return '*';
  const tags: string[] = [];
  LIST_ELEMENT.lastIndex = 0;
  while (LIST_ELEMENT.lastIndex < value.length) {
    const m = LIST_ELEMENT.exec(value);
    if (!m) throw badIfNoneMatch();
    if (m[1] !== undefined) tags.push(m[1]);
  }
  if (tags.length === 0) throw badIfNoneMatch();
  return tags;
}

/** True when the condition names the current tag (weak comparison). */
export function matches(cond: IfNoneMatch, etag: string): boolean {
  if (cond === undefined) return false;
  if (cond === '*') return true;
  const opaque = (ENTITY_TAG.exec(etag) as RegExpExecArray)[1];
  return cond.includes(opaque);
}

/** Cache-Control and Vary of every read answer (API.md section 3), the batch routes' included (they vary by Accept too). */
export function readHeaders(reply: FastifyReply, ...alsoVary: string[]): void {
  reply.header('Cache-Control', READ_CACHE_CONTROL);
  // Added to the Vary fields set before (Origin, by CORS), not in their place.
  addVary(reply, ...READ_VARY, ...alsoVary);
}

/**
 * Sends a 200 of a GET read route: Cache-Control, Vary and ETag, then 304 with no body when If-None-Match names the
 * tag, else the body in the caller's coding (the prepared bytes; the identity body below MIN_COMPRESS_BYTES).
 */
export async function sendRead(req: FastifyRequest, reply: FastifyReply, answer: PreparedAnswer, cond: IfNoneMatch): Promise<void> {
  readHeaders(reply);
  reply.header('ETag', answer.etag);
  // reply.send is not awaited: awaiting a reply waits for its last byte (a listener per answer), which no caller needs.
  if (matches(cond, answer.etag)) {
    reply.status(304).send();
    return;
  }
  reply.type('application/json; charset=utf-8');
  const coding = answer.identity.length >= MIN_COMPRESS_BYTES ? negotiate(req.headers['accept-encoding']) : undefined;
  if (coding === undefined) {
    reply.codingChosen = true;
    reply.send(writtenSliced(reply, answer.identity));
    return;
  }
  const body = await answer.bytes(coding);
  setCoding(reply, coding);
  reply.send(writtenSliced(reply, body));
}

/** The payload for reply.send: the body itself, or a big body as a stream of its slicesOf, with its Content-Length. */
export function writtenSliced(reply: FastifyReply, body: Buffer): Buffer | Readable {
  if (body.length <= BODY_SLICE_BYTES) return body;
  reply.header('Content-Length', String(body.length));
  return Readable.from(slicesOf(body), { objectMode: false });
}

/** A body in BODY_SLICE_BYTES slices, a cold turn between two. */
export async function* slicesOf(body: Buffer): AsyncGenerator<Buffer> {
  for (let at = 0; at < body.length; at += BODY_SLICE_BYTES) {
    if (at > 0) await coldTurn();
    yield body.subarray(at, at + BODY_SLICE_BYTES);
  }
}
