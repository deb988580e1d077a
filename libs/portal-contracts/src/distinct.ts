// Kept only while libs/asset-cache still imports these names; delete the file with their last use.

/** @deprecated `[...new Set(items)]`: each value once, first occurrence wins, order kept. */
export function distinct(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** @deprecated Returns `items`: distinct no longer recognizes arrays it folded before. */
export function markDistinct<T>(items: T[]): T[] {
  return items;
}
