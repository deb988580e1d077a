import { coldTurn } from '@app/asset-cache';

/** Array items serialized between two turns of the event loop: a 100,000-asset answer takes dozens of turns, not one. */
export const JSON_SLICE_ITEMS = 2_000;
/** Bytes of serialized slices joined into the answer between two turns: first writes to a big buffer's fresh memory are slow. */
const JOIN_SLICE_BYTES = 1 << 20;

/**
 * A long list serialized as `map` of each item, mapped only slice by slice by slicedJsonBytes: a 100,000-asset answer
 * never holds (nor makes in one go) 100,000 views. JSON.stringify reads it through toJSON, so it gives the same bytes.
 */
export class MappedList<T, U> {
  constructor(
    private readonly items: readonly T[],
    private readonly map: (item: T) => U,
  ) {}

  get length(): number {
    return this.items.length;
  }

  slice(from: number, to: number): U[] {
    return this.items.slice(from, to).map(this.map);
  }

  toJSON(): U[] {
    return this.items.map(this.map);
  }
}

type Long = unknown[] | MappedList<unknown, unknown>;
const isList = (v: unknown): v is Long => Array.isArray(v) || v instanceof MappedList;

/**
 * The bytes of `JSON.stringify(value)` for an answer object whose arrays may be long (a big user's assets, a batch's
 * users): each long array is serialized `slice` items at a time, with a cold turn (one slice of cold work per turn of
 * the event loop) between slices, so the hot reads that arrive meanwhile are answered instead of waiting for the whole
 * answer (a MappedList is mapped a slice at a time too). Small answers take one JSON.stringify. sliced-json.spec.ts
 * checks the bytes against JSON.stringify.
 */
export async function slicedJsonBytes(value: object, slice = JSON_SLICE_ITEMS): Promise<Buffer> {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (!entries.some(([, v]) => isList(v) && v.length > slice)) return Buffer.from(JSON.stringify(value));
  const parts: Buffer[] = [];
  const text = (s: string): number => parts.push(Buffer.from(s));
  text('{');
  for (const [i, [key, v]] of entries.entries()) {
    text(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`);
    if (!isList(v) || v.length <= slice) {
      text(JSON.stringify(v));
      continue;
    }
    text('[');
    for (let at = 0; at < v.length; at += slice) {
      if (at > 0) {
        await coldTurn();
        text(',');
      }
      text(JSON.stringify(v.slice(at, at + slice)).slice(1, -1));
    }
    text(']');
  }
  text('}');
  return joinSliced(parts);
}

/** Buffer.concat of the parts, JOIN_SLICE_BYTES at a time with a cold turn between: a 16 MB copy at once holds hot reads. */
export async function joinSliced(parts: readonly Buffer[]): Promise<Buffer> {
  const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  let sinceTurn = 0;
  for (const p of parts) {
    if (sinceTurn >= JOIN_SLICE_BYTES) {
      await coldTurn();
      sinceTurn = 0;
    }
    at += p.copy(out, at);
    sinceTurn += p.length;
  }
  return out;
}
