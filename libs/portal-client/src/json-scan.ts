/**
 * Reading JSON from its bytes, for the scanners of the portal's usual answers (users-answer-scan, asset-page-scan):
 * positions and checks only, no string made. A scanner throws NOT_USUAL at anything it does not read exactly as
 * JSON.parse would, and its caller then reads the answer the usual way.
 */

import { FNV_OFFSET, FNV_PRIME } from '@app/portal-contracts';

/**
 * The bytes and constants the scanners compare with. Each scanner module, this one too, takes them as constants of
 * its own (`const { QUOTE, … } = SCAN`): an imported binding compiles to a read of the exporting module's property
 * (`json_scan_1.QUOTE`), made again for every byte of a hot loop, where a module's own constant is folded into the
 * compiled code (a 1,000-user users/assetList answer scanned in 2.7 instead of 4.1 ms on this project's VM).
 */
export const SCAN = {
  QUOTE: 0x22,
  BACKSLASH: 0x5c,
  COMMA: 0x2c,
  COLON: 0x3a,
  OPEN_OBJECT: 0x7b,
  CLOSE_OBJECT: 0x7d,
  OPEN_LIST: 0x5b,
  CLOSE_LIST: 0x5d,
  /** The first byte that is not printable ASCII. */
  NOT_ASCII: 0x80,
  /** Below it, control characters (never raw in a JSON string). */
  PRINTABLE: 0x20,
  /** FNV-1a, as stringHash computes it (an ASCII id's hash over its bytes is its stringHash). */
  FNV_OFFSET,
  FNV_PRIME,
  isSpace: (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09,
} as const;
const { QUOTE, BACKSLASH, COMMA, COLON, OPEN_OBJECT, CLOSE_OBJECT, OPEN_LIST, CLOSE_LIST, NOT_ASCII, PRINTABLE, isSpace } = SCAN;

export const NULL = Buffer.from('null');

/** Why a scan stops: the answer is then read the usual way. */
export class NotUsual extends Error {}
export const NOT_USUAL = new NotUsual();

/** A range of bytes: [start, end). */
export interface Range {
  start: number;
  end: number;
}

/** `a`, or a copy of it grown (doubling) to hold at least `need` entries. */
export function grown(a: Int32Array, need: number): Int32Array {
  if (need <= a.length) return a;
  let n = a.length;
  while (n < need) n *= 2;
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

const KEY_DATA = Buffer.from('data');

/** A cursor over an answer's bytes with the JSON steps the scanners share. */
export class JsonBytes {
  protected i = 0;

  constructor(protected readonly b: Uint8Array) {}

  /** dataList, or undefined for an answer not of that shape (NOT_USUAL thrown anywhere in the scan). */
  protected usualDataList(key: Uint8Array, readList: () => void): Range | undefined {
    try {
      return this.dataList(key, readList);
    } catch (err) {
      if (err instanceof NotUsual) return undefined;
      throw err;
    }
  }

  /**
   * The whole answer read as an envelope object whose `data` (once) is an object holding `key` (once), whose value
   * `readList` scans; every other member skipped (JSON.parse reads them afterwards). Where that value starts and ends.
   */
  protected dataList(key: Uint8Array, readList: () => void): Range {
    let list: Range | undefined;
    let sawData = false;
    this.members((k) => {
      if (!this.is(k, KEY_DATA)) return this.skipValue();
      if (sawData) throw NOT_USUAL;
      sawData = true;
      this.space();
      if (this.b[this.i] !== OPEN_OBJECT) throw NOT_USUAL;
      this.members((inner) => {
        if (!this.is(inner, key)) return this.skipValue();
        if (list) throw NOT_USUAL;
        this.space();
        const start = this.i;
        readList();
        list = { start, end: this.i };
      });
    });
    this.space();
    if (this.i !== this.b.length || !list) throw NOT_USUAL;
    return list;
  }

  /** The members of the object at i, each key's value read by `value` (called with i after the colon); i after `}`. */
  protected members(value: (key: Range) => void): void {
    const b = this.b;
    this.space();
    if (b[this.i] !== OPEN_OBJECT) throw NOT_USUAL;
    this.i++;
    this.space();
    if (b[this.i] === CLOSE_OBJECT) {
      this.i++;
      return;
    }
    for (;;) {
      this.space();
      const key = this.plainString();
      this.space();
      if (b[this.i++] !== COLON) throw NOT_USUAL;
      value(key);
      this.space();
      const c = b[this.i++];
      if (c === CLOSE_OBJECT) return;
      if (c !== COMMA) throw NOT_USUAL;
    }
  }

  /** A string of printable ASCII without escapes at i: the range of its contents; i after its closing quote. */
  protected plainString(): Range {
    const b = this.b;
    if (b[this.i] !== QUOTE) throw NOT_USUAL;
    const start = ++this.i;
    for (;;) {
      const c = b[this.i];
      if (c === QUOTE) break;
      if (c === undefined || c === BACKSLASH || c < PRINTABLE || c >= NOT_ASCII) throw NOT_USUAL;
      this.i++;
    }
    return { start, end: this.i++ };
  }

  /** Skips any value at i, without checking it: only the parts JSON.parse reads afterwards are skipped. */
  protected skipValue(): void {
    const b = this.b;
    const n = b.length;
    this.space();
    const first = b[this.i];
    if (first === QUOTE) {
      this.skipString();
      return;
    }
    if (first !== OPEN_OBJECT && first !== OPEN_LIST) {
      // a number or a literal: up to the next delimiter
      while (this.i < n) {
        const c = b[this.i];
        if (c === COMMA || c === CLOSE_OBJECT || c === CLOSE_LIST || isSpace(c)) break;
        this.i++;
      }
      return;
    }
    let depth = 0;
    while (this.i < n) {
      const c = b[this.i];
      if (c === QUOTE) {
        this.skipString();
        continue;
      }
      this.i++;
      if (c === OPEN_OBJECT || c === OPEN_LIST) depth++;
      else if ((c === CLOSE_OBJECT || c === CLOSE_LIST) && --depth === 0) return;
    }
    throw NOT_USUAL;
  }

  /** Skips the string at i (escapes included); i after its closing quote. */
  protected skipString(): void {
    const b = this.b;
    const n = b.length;
    let i = this.i + 1;
    while (i < n) {
      const c = b[i];
      if (c === QUOTE) {
        this.i = i + 1;
        return;
      }
      i += c === BACKSLASH ? 2 : 1;
    }
    throw NOT_USUAL;
  }

  /** Whether the bytes at i are `word` (then i is after it). */
  protected literal(word: Uint8Array): boolean {
    if (!this.is({ start: this.i, end: this.i + word.length }, word)) return false;
    this.i += word.length;
    return true;
  }

  /** Whether the key's contents are `word`. */
  protected is(key: Range, word: Uint8Array): boolean {
    if (key.end - key.start !== word.length) return false;
    for (let d = 0; d < word.length; d++) if (this.b[key.start + d] !== word[d]) return false;
    return true;
  }

  protected space(): void {
    const b = this.b;
    while (this.i < b.length && isSpace(b[this.i])) this.i++;
  }
}
