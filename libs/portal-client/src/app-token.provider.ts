/** What a token fetch yields: the gateway access token and its lifetime. */
export interface FetchedAppToken {
  accessToken: string;
  expireS: number;
}

/** Renew this long before expiry at most... */
export const TOKEN_MAX_MARGIN_MS = 60_000;
/** ...or this share of the token's lifetime, whichever is smaller (short-lived tokens stay usable). */
export const TOKEN_MARGIN_RATIO = 0.1;

/**
 * Holds the gateway access token: one fetch at a time however many calls need it (the in-flight promise
 * is shared), reused until shortly before it expires, dropped when the gateway says it is no longer valid.
 */
export class AppTokenProvider {
  private current?: { token: string; renewAt: number };
  private inflight?: Promise<string>;

  constructor(
    private readonly fetchToken: () => Promise<FetchedAppToken>,
    private readonly now: () => number = Date.now,
  ) {}

  /** A token believed valid, fetching one when there is none (or it is about to expire). */
  get(): Promise<string> {
    if (this.current && this.now() < this.current.renewAt) return Promise.resolve(this.current.token);
    if (!this.inflight) {
      const startedAt = this.now();
      this.inflight = this.fetchToken()
        .then(({ accessToken, expireS }) => {
          const ttlMs = expireS * 1000;
          const margin = Math.min(TOKEN_MAX_MARGIN_MS, ttlMs * TOKEN_MARGIN_RATIO);
          // Lifetime counts from when we asked, so network time eats into the margin rather than past expiry.
          this.current = { token: accessToken, renewAt: startedAt + ttlMs - margin };
          return accessToken;
        })
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }

  /** Forget `token` (the gateway rejected it); a newer token fetched meanwhile is kept. */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }
}
