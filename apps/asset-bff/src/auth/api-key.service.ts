import { Inject, Injectable } from '@nestjs/common';
import { hash as digest, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ServiceCaller } from './caller';

const MAX_KEY_LENGTH = 512;

/** Service callers by X-Api-Key: only SHA-256 hashes are configured; every entry is compared in constant time. */
@Injectable()
export class ApiKeyService {
  private readonly entries: { hash: Buffer; caller: ServiceCaller }[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.entries = config.API_KEYS.map((k) => ({
      hash: Buffer.from(k.sha256, 'hex'),
      caller: { kind: 'service', id: k.id, orgs: [...k.orgs], scopes: [...k.scopes] },
    }));
  }

  /**
   * Keys that matched an entry, each as it was sent: at most one string per configured key (a key is one exact
   * string), so it cannot grow past the configuration. A hit skips the SHA-256 of every hot read; it tells apart
   * only what the answer tells anyway (the key is valid), and a miss takes the constant-time walk below.
   */
  private readonly verified = new Map<string, ServiceCaller>();

  /** The caller whose key this is, or undefined. */
  verify(key: string): ServiceCaller | undefined {
    const known = this.verified.get(key);
    if (known !== undefined) return known;
    const found = this.match(key);
    if (found !== undefined && this.verified.size < this.entries.length) this.verified.set(key, found);
    return found;
  }

  private match(key: string): ServiceCaller | undefined {
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) return undefined;
    // One-shot hashing: no Hash object per request (this runs on every hot read).
    const hash = digest('sha256', key, 'buffer');
    let found: ServiceCaller | undefined;
    // No early exit: the time taken does not depend on which entry (if any) matches.
    for (const e of this.entries) {
      if (timingSafeEqual(e.hash, hash) && !found) found = e.caller;
    }
    return found;
  }
}
