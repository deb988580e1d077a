import { setImmediate as nextTurn } from 'node:timers/promises';

/** Array items serialized between two turns of the event loop: a 100,000-asset answer takes dozens of turns, not one. */
export const JSON_SLICE_ITEMS = 2_000;

/**
 * The bytes of `JSON.stringify(value)` for an answer object whose arrays may be long (a big user's assets, a batch's
 * users): each long array is serialized `slice` items at a time, with a turn of the event loop between slices, so
 * the hot reads that arrive meanwhile are answered instead of waiting for the whole answer. Small answers take one
 * JSON.stringify. sliced-json.spec.ts checks the bytes against JSON.stringify.
 */
export async function slicedJsonBytes(value: object, slice = JSON_SLICE_ITEMS): Promise<Buffer> {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (!entries.some(([, v]) => Array.isArray(v) && v.length > slice)) return Buffer.from(JSON.stringify(value));
  const parts: Buffer[] = [];
  const text = (s: string): number => parts.push(Buffer.from(s));
  text('{');
  for (const [i, [key, v]] of entries.entries()) {
    text(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`);
    if (!Array.isArray(v) || v.length <= slice) {
      text(JSON.stringify(v));
      continue;
    }
    text('[');
    for (let at = 0; at < v.length; at += slice) {
      if (at > 0) {
        await nextTurn();
        text(',');
      }
      text(JSON.stringify(v.slice(at, at + slice)).slice(1, -1));
    }
    text(']');
  }
  text('}');
  return Buffer.concat(parts);
}
