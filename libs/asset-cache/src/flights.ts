/** A promise in flight for one key, with the OU and user it belongs to (for invalidations). */
interface Flight<T> {
  orgId: string;
  userId: string;
  /** The result; made when a caller joins (a batch's users are rarely joined, so most never make one). */
  join(): Promise<T>;
}

/** Who a key belongs to. */
export interface FlightKey {
  key: string;
  orgId: string;
  userId: string;
}

/**
 * Work in flight in this process, by key, so concurrent callers of one key share one promise (single flight).
 * An invalidation drops the flights it concerns: a later caller must not join a load of older data.
 */
export class Flights<T> {
  private readonly byKey = new Map<string, Flight<T>>();

  /** The flight of the key, if any. */
  get(key: string): Promise<T> | undefined {
    return this.byKey.get(key)?.join();
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** Registers `promise` under the key until it settles. */
  add(k: FlightKey, promise: Promise<T>): void {
    const flight: Flight<T> = { orgId: k.orgId, userId: k.userId, join: () => promise };
    this.byKey.set(k.key, flight);
    const done = (): void => this.untrack(k.key, flight);
    promise.then(done, done);
  }

  /** Registers each key under its position in `batch` until the batch settles. */
  addBatch(keys: readonly FlightKey[], batch: Promise<readonly T[]>): void {
    const flights = keys.map((k, i): Flight<T> => ({ orgId: k.orgId, userId: k.userId, join: () => batch.then((all) => all[i]) }));
    keys.forEach((k, i) => this.byKey.set(k.key, flights[i]));
    const done = (): void => keys.forEach((k, i) => this.untrack(k.key, flights[i]));
    batch.then(done, done);
  }

  /** Forgets the flights of an OU (or of one user of it); they run on, but no new caller joins them. */
  drop(orgId: string, userId?: string): void {
    for (const [key, f] of this.byKey) if (f.orgId === orgId && (userId === undefined || f.userId === userId)) this.byKey.delete(key);
  }

  /** Forgets every flight (after a resubscription: an invalidation may have been missed while they ran). */
  clear(): void {
    this.byKey.clear();
  }

  private untrack(key: string, flight: Flight<T>): void {
    if (this.byKey.get(key) === flight) this.byKey.delete(key);
  }
}
