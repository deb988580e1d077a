/** What a revalidated GET needs: the tag to send and the body a 304 stands for. */
export interface CachedAnswer {
  etag: string;
  body: unknown;
}

/**
 * A bounded in-memory map of the last answers of GET reads, least recently used first out, so that
 * re-reading an unchanged set costs a 304 and no body (a Map keeps insertion order: re-inserting on use
 * moves an entry to the end). Hand-written rather than lru-cache: a Map gives the order, and the client stays at
 * one dependency (the CLI's progress bar) for browsers.
 */
export class EtagCache {
  private readonly entries = new Map<string, CachedAnswer>();

  constructor(private readonly maxEntries: number) {}

  get(key: string): CachedAnswer | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, answer: CachedAnswer): void {
    if (this.maxEntries <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, answer);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
