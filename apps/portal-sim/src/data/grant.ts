/** A contiguous run of asset indices [offset, offset + count) over an OU's asset array. */
export interface GrantWindow {
  offset: number;
  count: number;
}

/**
 * The assets a user may access in one OU, as indices into the OU's asset array, in ascending index order.
 * Seeded grants stay as a few windows (cheap for 50,000 users with 10,000 assets each); the first
 * grant/revoke materializes them into a sorted index list.
 */
export class Grant {
  private windows: GrantWindow[] | null;
  private list: number[] | null = null;
  private set: Set<number> | null = null;
  private changes = 0;

  private constructor(windows: GrantWindow[] | null, list: number[] | null) {
    this.windows = windows;
    this.list = list;
  }

  /** Windows over an array of `size` assets: clamped, wrapped past the end, sorted and merged. */
  static ofWindows(windows: readonly GrantWindow[], size: number): Grant {
    const parts: GrantWindow[] = [];
    for (const w of windows) {
      if (size <= 0 || w.count <= 0) continue;
      const offset = ((w.offset % size) + size) % size;
      const count = Math.min(w.count, size);
      const firstLen = Math.min(count, size - offset);
      parts.push({ offset, count: firstLen });
      if (count > firstLen) parts.push({ offset: 0, count: count - firstLen });
    }
    parts.sort((a, b) => a.offset - b.offset);
    const merged: GrantWindow[] = [];
    for (const p of parts) {
      const last = merged[merged.length - 1];
      if (last && p.offset <= last.offset + last.count) {
        last.count = Math.max(last.count, p.offset + p.count - last.offset);
      } else merged.push({ ...p });
    }
    return new Grant(merged, null);
  }

  /** An explicit set of indices. */
  static ofIndices(indices: Iterable<number>): Grant {
    return new Grant(
      null,
      [...new Set(indices)].sort((a, b) => a - b),
    );
  }

  static empty(): Grant {
    return new Grant([], null);
  }

  /** True while the grant is still stored as windows (not materialized). */
  get isWindowed(): boolean {
    return this.windows !== null;
  }

  /** The windows, when not materialized. */
  get windowList(): readonly GrantWindow[] | null {
    return this.windows;
  }

  get count(): number {
    if (this.windows) {
      let n = 0;
      for (const w of this.windows) n += w.count;
      return n;
    }
    return this.list!.length;
  }

  has(index: number): boolean {
    if (this.windows) {
      for (const w of this.windows) if (index >= w.offset && index < w.offset + w.count) return true;
      return false;
    }
    this.set ??= new Set(this.list);
    return this.set.has(index);
  }

  /** Indices at positions [start, end) of the grant's ascending order. */
  slice(start: number, end: number): number[] {
    if (!this.windows) return this.list!.slice(start, end);
    const out: number[] = [];
    let pos = 0;
    for (const w of this.windows) {
      if (pos + w.count <= start) {
        pos += w.count;
        continue;
      }
      const from = Math.max(0, start - pos);
      for (let i = from; i < w.count && pos + i < end; i++) out.push(w.offset + i);
      pos += w.count;
      if (pos >= end) break;
    }
    return out;
  }

  /** How many times the grant changed (grant/revoke): what is derived from it is valid while this stays the same. */
  get version(): number {
    return this.changes;
  }

  /** Sets `marks[i]` to 1 for every index i of the grant (a window at once). */
  markIn(marks: Uint8Array): void {
    if (this.windows) for (const w of this.windows) marks.fill(1, w.offset, w.offset + w.count);
    else for (const i of this.list!) marks[i] = 1;
  }

  /** Calls fn for every index in ascending order. */
  forEach(fn: (index: number) => void): void {
    if (this.windows) {
      for (const w of this.windows) for (let i = 0; i < w.count; i++) fn(w.offset + i);
    } else for (const i of this.list!) fn(i);
  }

  add(indices: Iterable<number>): void {
    this.materialize([...indices], []);
  }

  remove(indices: Iterable<number>): void {
    this.materialize([], [...indices]);
  }

  private materialize(add: number[], remove: number[]): void {
    const all = new Set<number>();
    this.forEach((i) => all.add(i));
    for (const i of add) all.add(i);
    for (const i of remove) all.delete(i);
    this.windows = null;
    this.list = [...all].sort((a, b) => a - b);
    this.set = null;
    this.changes++;
  }
}
