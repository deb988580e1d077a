import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AssetListDecoder, UsersAssetListDecoder } from '@app/portal-client';
import { LangPrefs } from '../common/i18n';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { AnswerKind, digestAnswerOf } from './page-digest';
import type { PageJob, PageResult } from './page-worker';

/** The compiled worker next to this file. */
const WORKER_FILE = join(__dirname, 'page-worker.js');

/**
 * A job as the pool holds it: what the answer is, its own bytes as the chunks they arrived in (this thread's fallback)
 * and the caller's languages.
 */
interface Job {
  kind: AnswerKind;
  chunks: readonly Uint8Array[];
  prefs?: LangPrefs;
}

interface Pending extends Job {
  resolve: (envelope: unknown) => void;
  /** The shared slot the bytes went over in: the pool's again once the worker has answered. */
  slot: SharedArrayBuffer;
}

/** What the worker would have given, computed on this thread (no thread, a closed pool, or a thread that failed). */
const digestHere = (j: Job): unknown => digestAnswerOf(j.kind, j.chunks.length === 1 ? j.chunks[0] : Buffer.concat(j.chunks), j.prefs).envelope;

/** Bytes in all the chunks. */
function lengthOf(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** Smallest slot made (a page of 1,000 assets is ~150 KB, a users/assetList answer of 1,000 users ~1 MB). */
const SLOT_MIN_BYTES = 64 * 1024;
/** Most bytes of free slots kept for reuse (a wave's eight 1 MB answers in flight take eight 1 MB slots). */
const SLOTS_KEPT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Shared buffers that carry answers' bytes to the worker threads, reused from answer to answer. postMessage of the
 * bytes themselves copies them twice into fresh memory (into the message, then into the worker's own buffer), and the
 * first touch of fresh memory is a page fault per 4 KB: ~3 ms per MB on this project's VM, against ~0.05 ms to copy
 * into memory touched before. A slot is lent to one job at a time, from the copy until the worker's answer.
 */
export class SharedSlots {
  private readonly free: SharedArrayBuffer[] = [];
  private keptBytes = 0;

  /** Bytes held by free slots. */
  get kept(): number {
    return this.keptBytes;
  }

  /** A slot of at least `size` bytes: the smallest free one that fits, else a new one (a power of two). */
  take(size: number): SharedArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const n = this.free[i].byteLength;
      if (n >= size && (best < 0 || n < this.free[best].byteLength)) best = i;
    }
    if (best >= 0) {
      const [slot] = this.free.splice(best, 1);
      this.keptBytes -= slot.byteLength;
      return slot;
    }
    let n = SLOT_MIN_BYTES;
    while (n < size) n *= 2;
    return new SharedArrayBuffer(n);
  }

  /** A slot no job reads any more; kept for the next while the free ones stay under SLOTS_KEPT_MAX_BYTES. */
  give(slot: SharedArrayBuffer): void {
    if (this.keptBytes + slot.byteLength > SLOTS_KEPT_MAX_BYTES) return;
    this.free.push(slot);
    this.keptBytes += slot.byteLength;
  }
}

/** One worker thread and the jobs it has not answered yet. */
class PageWorker {
  readonly pending = new Map<number, Pending>();
  constructor(readonly worker: Worker) {}
}

/**
 * asset/list answers digested on worker threads (with none, the portal client reads them itself): a 100-page
 * user's pages are ~5 ms each of UTF-8 decoding, JSON.parse and view serializing, and on the main thread that
 * work kept freed bulkhead slots idle while eight answers of a wave were read one after another. The answer's bytes go over
 * in a shared slot (SharedSlots) and the digest's serialized views come back handed over (not copied). A worker that fails is
 * replaced on the next page; the pages it held are digested on the main thread, so no read fails for it.
 * `users/assetList` answers of the batch route go the same way (usersDecoder): their ids come back once each,
 * with the users' lists as index arrays handed over.
 */
export class PageWorkerPool {
  protected readonly logger = new Logger('PageDecoders');
  private readonly workers: (PageWorker | undefined)[];
  private next = 0;
  private seq = 0;
  private closed = false;
  /** The shared buffers the answers' bytes go over in. */
  readonly slots = new SharedSlots();

  /** `onChange` is told how many threads run after each start or loss; `onLost` of each thread lost (not of close). */
  constructor(
    size: number,
    private readonly file: string,
    private readonly events: { onChange?: (running: number) => void; onLost?: () => void } = {},
  ) {
    this.workers = Array.from({ length: size }, () => undefined);
  }

  /** Worker threads running now. */
  get running(): number {
    return this.workers.filter((w) => w !== undefined).length;
  }

  /**
   * A decoder for one read whose answer is serialized for `prefs` (undefined: no views prepared); none for a pool
   * of no threads, so that the portal client reads the pages itself.
   */
  decoderFor(prefs: LangPrefs | undefined): AssetListDecoder | undefined {
    return this.workers.length === 0 ? undefined : (chunks) => this.digest({ kind: 'page', chunks, prefs });
  }

  /** A decoder of `users/assetList` answers; none for a pool of no threads. */
  usersDecoder(): UsersAssetListDecoder | undefined {
    return this.workers.length === 0 ? undefined : (chunks) => this.digest({ kind: 'users', chunks, prefs: undefined });
  }

  /** Starts every thread now, so that the first cold read does not wait for one to load. */
  start(): void {
    for (let i = 0; i < this.workers.length; i++) if (!this.closed && this.workers[i] === undefined) this.spawn(i);
  }

  /** Stops the threads; the pages they held, and any page after, are digested on the main thread. */
  close(): Promise<void> {
    this.closed = true;
    const all = this.workers.filter((w): w is PageWorker => w !== undefined);
    this.workers.fill(undefined);
    this.events.onChange?.(0);
    return Promise.all(all.map((w) => w.worker.terminate())).then(() => undefined);
  }

  private digest(job: Job): Promise<unknown> {
    if (this.closed) return Promise.resolve(digestHere(job));
    const i = this.next;
    this.next = (i + 1) % this.workers.length;
    const w = this.workers[i] ?? this.spawn(i);
    const id = ++this.seq;
    return new Promise((resolve) => {
      // Copied into a shared slot (memory touched before), chunk after chunk, not posted: the worker reads it there,
      // and the bytes stay here too for a worker lost before answering.
      const length = lengthOf(job.chunks);
      const slot = this.slots.take(length);
      const into = new Uint8Array(slot, 0, length);
      let at = 0;
      for (const c of job.chunks) {
        into.set(c, at);
        at += c.length;
      }
      const pending: Pending = { ...job, resolve, slot };
      w.pending.set(id, pending);
      const message: PageJob = { id, kind: job.kind, shared: slot, length, prefs: job.prefs };
      try {
        w.worker.postMessage(message);
      } catch {
        w.pending.delete(id);
        this.slots.give(slot);
        resolve(digestHere(pending));
      }
    });
  }

  private spawn(i: number): PageWorker {
    const w = new PageWorker(new Worker(this.file));
    // The pool never keeps the process up; a read waiting on it does, through its socket.
    w.worker.unref();
    w.worker.on('message', (r: PageResult) => {
      const p = w.pending.get(r.id);
      if (!p) return;
      w.pending.delete(r.id);
      // The worker has let go of the slot: it answers only once it has read it.
      this.slots.give(p.slot);
      if ('envelope' in r) p.resolve(r.envelope);
      else p.resolve(digestHere(p));
    });
    let gone = false;
    const lost = (why: string): void => {
      if (this.workers[i] === w) this.workers[i] = undefined;
      if (!gone && !this.closed) {
        this.logger.warn(`page worker ${why}; it is replaced on the next page`);
        this.events.onLost?.();
        this.events.onChange?.(this.running);
      }
      gone = true;
      // Their slots are not given back: a thread that failed may not have let go of them.
      for (const [id, p] of w.pending) {
        w.pending.delete(id);
        p.resolve(digestHere(p));
      }
    };
    w.worker.on('error', (err) => lost(`failed: ${err.message}`));
    w.worker.on('exit', (code) => lost(`exited (${code})`));
    this.workers[i] = w;
    this.events.onChange?.(this.running);
    return w;
  }
}

/** The service's pool: PAGE_WORKERS threads of the compiled worker next to this file. */
@Injectable()
export class PageDecoders extends PageWorkerPool implements OnModuleInit, OnModuleDestroy {
  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: MetricsService) {
    // Absent when the sources run untranspiled: then pages are digested on the main thread.
    const found = existsSync(WORKER_FILE);
    super(found ? config.PAGE_WORKERS : 0, WORKER_FILE, { onChange: (n) => metrics.pageWorkers.set(n), onLost: () => metrics.pageWorkerLosses.inc() });
    if (!found && config.PAGE_WORKERS > 0) this.logger.warn(`no compiled page worker at ${WORKER_FILE}: asset/list pages are digested on the main thread`);
  }

  onModuleInit(): void {
    this.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }
}
