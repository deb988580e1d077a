import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { AppException } from './app.exception';
import { Signer } from './signer';

export const CONSISTENCY_HEADER = 'X-Consistency-Token';
/** `<epoch ms in base 36>.<signature>`. */
const FORMAT = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/;
const RADIX = 36;
/** Clock difference between instances a token may show; a token further in the future cannot have been issued. */
const MAX_CLOCK_SKEW_MS = 60_000;
/** Tokens kept once signed: about one per cached entry in use, since a hot entry keeps its load time. */
const ISSUED_MAX = 20_000;

const badToken = (): AppException =>
  AppException.validation([{ field: CONSISTENCY_HEADER, problems: ['must be a token this service issued (X-Consistency-Token of an earlier answer)'] }]);

/**
 * Consistency tokens (API.md section 3): a signed point in time. An invalidation issues the time it was recorded, a
 * read the time its data was loaded; a read given a token is answered only from data loaded at or after that time,
 * on any instance (the cache's `notBefore`), so no caller reads data older than what it invalidated or already saw.
 */
@Injectable()
export class ConsistencyTokens {
  private readonly signer: Signer;
  /** Tokens by the time they name: every answer of a cached entry carries the same one, so it is signed once. */
  private readonly issued = new LRUCache<number, string>({ max: ISSUED_MAX });

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.signer = new Signer(config.PORTAL_APP_SECRET, 'consistency');
  }

  /** The token of a point in time (epoch ms). */
  issue(atMs: number): string {
    const at = Math.max(0, Math.floor(atMs));
    let token = this.issued.get(at);
    if (token === undefined) {
      const head = at.toString(RADIX);
      token = `${head}.${this.signer.sign(head)}`;
      this.issued.set(at, token);
    }
    return token;
  }

  /** The time a request's token names, undefined without one; 400 naming the header when it is malformed or forged. */
  notBefore(req: FastifyRequest, now = Date.now()): number | undefined {
    const raw = req.headers['x-consistency-token'];
    if (raw === undefined) return undefined;
    const m = typeof raw === 'string' ? FORMAT.exec(raw) : null;
    if (!m || !this.signer.verify(m[1], m[2])) throw badToken();
    const t = parseInt(m[1], RADIX);
    if (t > now + MAX_CLOCK_SKEW_MS) throw badToken();
    return t;
  }

  /** Sets the answer's token (the time its data was loaded, or the invalidation's). */
  send(reply: FastifyReply, atMs: number): void {
    reply.header(CONSISTENCY_HEADER, this.issue(atMs));
  }
}
