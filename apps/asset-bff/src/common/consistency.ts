import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { AppException } from './app.exception';
import { Signer } from './signer';

export const CONSISTENCY_HEADER = 'X-Consistency-Token';
/** `<epoch ms in base 36>.<signature>`. */
const FORMAT = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/;
const RADIX = 36;
/** Clock difference between instances a token may show; a token further in the future cannot have been issued. */
const MAX_CLOCK_SKEW_MS = 60_000;

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

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.signer = new Signer(config.PORTAL_APP_SECRET, 'consistency');
  }

  /** The token of a point in time (epoch ms). */
  issue(atMs: number): string {
    const head = Math.max(0, Math.floor(atMs)).toString(RADIX);
    return `${head}.${this.signer.sign(head)}`;
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
