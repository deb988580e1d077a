import type { AssetDetails } from '@app/asset-cache';
import type { ScannedAssets } from '@app/portal-client/asset-page-scan';
import type { AssetListItem } from '@app/portal-contracts';
import { LangPrefs, localize } from '../common/i18n';

/** An asset as the caller sees it. */
export interface AssetView {
  id: string;
  name: string;
  names: AssetDetails['names'];
}

export function view(id: string, d: AssetDetails | undefined, prefs: LangPrefs): AssetView {
  const names = d?.names ?? { default: id };
  return { id, name: localize(names, prefs) || id, names };
}

/** ByteSink's scratch: its usual size, and the most it keeps after an answer that grew it. */
const SCRATCH_BYTES = 1 << 20;
const SCRATCH_KEPT_MAX = 4 << 20;

/**
 * UTF-8 bytes written piece by piece into one scratch buffer that the thread reuses, then copied out at their exact
 * size. Encoding a page's JSON as one string made a ~200 KB (two-byte, once a name is not ASCII) string and an
 * encoded copy of it, both in memory never touched before: on this machine each page fault costs ~12 µs, and a page
 * worker spent more on faults than on the JSON (5.1 against 3.9 ms a page, 220 against 100 faults, measured alone).
 */
export class ByteSink {
  private static scratch = new Uint8Array(SCRATCH_BYTES);
  private length = 0;

  /** Appends the string's UTF-8 bytes. */
  put(s: string): void {
    for (;;) {
      const r = ENCODER.encodeInto(s, ByteSink.scratch.subarray(this.length));
      if (r.read === s.length) {
        this.length += r.written;
        return;
      }
      this.grow();
    }
  }

  /** Appends bytes [start, end) of `src`. */
  putBytes(src: Buffer, start: number, end: number): void {
    const n = end - start;
    while (this.length + n > ByteSink.scratch.length) this.grow();
    src.copy(ByteSink.scratch, this.length, start, end);
    this.length += n;
  }

  /** The scratch was too small for this answer: a scratch twice as large, what was written so far carried over. */
  private grow(): void {
    const bigger = new Uint8Array(ByteSink.scratch.length * 2);
    bigger.set(ByteSink.scratch.subarray(0, this.length));
    ByteSink.scratch = bigger;
  }

  /** The bytes written, in a buffer of their own (its whole ArrayBuffer, so it can be handed over). */
  take(): Uint8Array {
    const bytes = ByteSink.scratch.slice(0, this.length);
    // a scratch grown past SCRATCH_KEPT_MAX by one huge answer is not kept for the next
    if (ByteSink.scratch.length > SCRATCH_KEPT_MAX) ByteSink.scratch = new Uint8Array(SCRATCH_BYTES);
    return bytes;
  }

  /** The scratch's size right now (for tests). */
  static get scratchBytes(): number {
    return ByteSink.scratch.length;
  }
}

/** A page's views as JSON, '[...]' without its brackets (pages are joined with commas), encoded. */
export function pageViewsBytes(assets: readonly AssetListItem[], prefs: LangPrefs): Uint8Array {
  const sink = new ByteSink();
  for (let i = 0; i < assets.length; i++) {
    const a = assets[i];
    sink.put((i === 0 ? '' : ',') + JSON.stringify(view(a.id, { names: a.name ?? {} }, prefs)));
  }
  return sink.take();
}

/** The page's names as one JSON array (what pageFromDigest parses when the names are read), encoded. */
export function pageNamesBytes(assets: readonly AssetListItem[]): Uint8Array {
  const sink = new ByteSink();
  sink.put('[');
  for (let i = 0; i < assets.length; i++) sink.put((i === 0 ? '' : ',') + JSON.stringify(assets[i].name));
  sink.put(']');
  return sink.take();
}
const ENCODER = new TextEncoder();

const BYTES = {
  open: Buffer.from('['),
  close: Buffer.from(']'),
  comma: Buffer.from(','),
  empty: Buffer.from('{}'),
  quote: Buffer.from('"'),
  viewId: Buffer.from('{"id":"'),
  viewName: Buffer.from('","name":'),
  viewNames: Buffer.from(',"names":'),
  viewEnd: Buffer.from('}'),
};
const all = (sink: ByteSink, b: Buffer): void => sink.putBytes(b, 0, b.length);

/** A scanned page's name objects as one JSON array: pageNamesBytes's bytes, copied from the page's. */
export function scannedNamesBytes(s: ScannedAssets): Uint8Array {
  const sink = new ByteSink();
  all(sink, BYTES.open);
  for (let k = 0; k < s.count; k++) {
    if (k > 0) all(sink, BYTES.comma);
    if (s.nameStart[k] < 0) all(sink, BYTES.empty);
    else sink.putBytes(s.bytes, s.nameStart[k], s.nameEnd[k]);
  }
  all(sink, BYTES.close);
  return sink.take();
}

/** A scanned page's views: pageViewsBytes's bytes for the same page, copied from the page's. */
export function scannedViewsBytes(s: ScannedAssets, prefs: LangPrefs): Uint8Array {
  const wanted = prefs.map((p) => {
    const lang = p.split('_')[0];
    return { exact: Buffer.from(p), lang: Buffer.from(lang), prefix: Buffer.from(`${lang}_`) };
  });
  const sink = new ByteSink();
  for (let k = 0; k < s.count; k++) {
    if (k > 0) all(sink, BYTES.comma);
    all(sink, BYTES.viewId);
    sink.putBytes(s.bytes, s.idStart[k], s.idEnd[k]);
    all(sink, BYTES.viewName);
    const e = localizedEntry(s, k, wanted);
    if (e >= 0) sink.putBytes(s.bytes, s.valStart[e], s.valEnd[e]);
    else {
      // no name: the id, as view() falls back to it
      all(sink, BYTES.quote);
      sink.putBytes(s.bytes, s.idStart[k], s.idEnd[k]);
      all(sink, BYTES.quote);
    }
    all(sink, BYTES.viewNames);
    if (s.nameStart[k] < 0) all(sink, BYTES.empty);
    else sink.putBytes(s.bytes, s.nameStart[k], s.nameEnd[k]);
    all(sink, BYTES.viewEnd);
  }
  return sink.take();
}

const DEFAULT_KEY = Buffer.from('default');

/** Whether entry e holds a non-empty string (not null, not ""). */
const filled = (s: ScannedAssets, e: number): boolean => s.valStart[e] >= 0 && s.valEnd[e] - s.valStart[e] > 2;

/** Whether entry e's key is `w` (or, with prefixOnly, starts with it). */
function keyIs(s: ScannedAssets, e: number, w: Buffer, prefixOnly: boolean): boolean {
  const len = s.keyEnd[e] - s.keyStart[e];
  if (prefixOnly ? len < w.length : len !== w.length) return false;
  for (let d = 0; d < w.length; d++) if (s.bytes[s.keyStart[e] + d] !== w[d]) return false;
  return true;
}

/** The first entry in [from, to) whose key is `w` (or starts with it) and whose value is filled; -1 for none. */
function findEntry(s: ScannedAssets, from: number, to: number, w: Buffer, prefixOnly = false): number {
  for (let e = from; e < to; e++) if (keyIs(s, e, w, prefixOnly) && filled(s, e)) return e;
  return -1;
}

/**
 * The entry of asset k's name that localize() picks for these preferences (the same order: each preference exactly,
 * its language alone, the first key of its language, then `default`, then the first non-empty value); -1 for none.
 */
function localizedEntry(s: ScannedAssets, k: number, wanted: readonly { exact: Buffer; lang: Buffer; prefix: Buffer }[]): number {
  const from = s.entryFrom[k];
  const to = s.entryFrom[k + 1];
  for (const p of wanted) {
    const e = findEntry(s, from, to, p.exact);
    if (e >= 0) return e;
    const alone = findEntry(s, from, to, p.lang);
    if (alone >= 0) return alone;
    const first = findEntry(s, from, to, p.prefix, true);
    if (first >= 0) return first;
  }
  const d = findEntry(s, from, to, DEFAULT_KEY);
  if (d >= 0) return d;
  for (let e = from; e < to; e++) if (filled(s, e)) return e;
  return -1;
}
