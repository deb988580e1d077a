import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AnswerDecoder, AnswerKind, readAnswer } from './answer';

/** The compiled worker next to this file (absent when the sources run untranspiled, as under jest). */
export const ANSWER_WORKER_FILE = join(__dirname, 'answer-worker.js');

/** An answer to read on a worker thread; its bytes are handed over, not copied. */
export interface AnswerJob {
  id: number;
  kind: AnswerKind;
  bytes: Uint8Array;
}

/** What readAnswer gave, or why it threw. */
export type AnswerReply = { id: number; body: unknown } | { id: number; error: string };

/**
 * Answers shorter than this are read on the calling thread: handing one to a thread and its result back costs more
 * than parsing it, and so little parsing holds up no hot read.
 */
export const WORKER_MIN_BYTES = 64 * 1024;

interface Pending {
  worker: Worker;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

/**
 * Worker threads that read large answers (readAnswer: JSON.parse and the shape checks), so that the main thread keeps
 * serving cached reads while a 1 MB answer is parsed. Jobs go to the threads in turn; each answer's bytes are handed
 * over (transferred). A thread that fails is replaced on the next job, and the jobs it held are rejected: the portal
 * client then takes the answer as not received and calls again. Once closed, answers are read on the main thread.
 */
export class AnswerWorkers {
  private readonly logger = new Logger('AnswerWorkers');
  private readonly workers: (Worker | undefined)[];
  private readonly pending = new Map<number, Pending>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private next = 0;
  private seq = 0;
  private closed = false;

  /** `onChange` is told how many threads run, `onLost` of each thread lost; answers under `minBytes` are read here. */
  constructor(
    size: number,
    private readonly file = ANSWER_WORKER_FILE,
    private readonly options: { onChange?: (running: number) => void; onLost?: () => void; minBytes?: number } = {},
  ) {
    this.workers = Array.from({ length: size }, () => undefined);
  }

  /** Worker threads running now. */
  get running(): number {
    return this.workers.filter((w) => w !== undefined).length;
  }

  /** The decoder for the portal client's reads; none without threads (the client then reads on the main thread). */
  get decoder(): AnswerDecoder | undefined {
    return this.workers.length === 0 ? undefined : (kind, bytes) => this.decode(kind, bytes);
  }

  /** readAnswer of the bytes, on a worker thread (on this one once closed, or when short). The bytes are unusable afterwards. */
  decode(kind: AnswerKind, bytes: Uint8Array): Promise<unknown> {
    if (this.closed || this.workers.length === 0 || bytes.byteLength < (this.options.minBytes ?? WORKER_MIN_BYTES))
      return Promise.resolve(readAnswer(kind, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    const i = this.next;
    this.next = (i + 1) % this.workers.length;
    const worker = this.workers[i] ?? this.spawn(i);
    const id = ++this.seq;
    // Only a buffer of its own may be handed over: a small Buffer shares its memory with others.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
    const done = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      worker.postMessage({ id, kind, bytes: own } satisfies AnswerJob, [own.buffer as ArrayBuffer]);
    });
    this.inFlight.add(done);
    const forget = (): void => void this.inFlight.delete(done);
    done.then(forget, forget);
    return done;
  }

  /** Starts every thread now, so that the first read does not wait for one to load. */
  start(): void {
    for (let i = 0; i < this.workers.length; i++) if (!this.closed && this.workers[i] === undefined) this.spawn(i);
  }

  /** Lets the threads finish the answers they hold, then stops them. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    const all = this.workers.filter((w): w is Worker => w !== undefined);
    this.workers.fill(undefined);
    this.options.onChange?.(0);
    await Promise.all(all.map((w) => w.terminate()));
  }

  private spawn(i: number): Worker {
    const worker = new Worker(this.file);
    // The threads never keep the process up; a read waiting on one does, through its socket.
    worker.unref();
    worker.on('message', (r: AnswerReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if ('body' in r) p.resolve(r.body);
      else p.reject(new Error(r.error));
    });
    const lost = (why: string): void => {
      for (const [id, p] of this.pending) {
        if (p.worker !== worker) continue;
        this.pending.delete(id);
        p.reject(new Error(`answer worker ${why}`));
      }
      if (this.workers[i] !== worker) return;
      this.workers[i] = undefined;
      if (this.closed) return;
      this.logger.warn(`answer worker ${why}; it is replaced on the next answer`);
      this.options.onLost?.();
      this.options.onChange?.(this.running);
    };
    worker.on('error', (err) => lost(`failed: ${err.message}`));
    worker.on('exit', (code) => lost(`exited (${code})`));
    this.workers[i] = worker;
    this.options.onChange?.(this.running);
    return worker;
  }
}
