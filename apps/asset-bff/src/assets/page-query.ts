import { Problems } from '../common/validation';

/** Most assets one page holds, and the longest search string (API.md section 3, "Large answers"). */
export const MAX_PAGE_LIMIT = 10_000;
export const MAX_QUERY_LENGTH = 128;
/** Longest cursor the service issues, with room to spare. */
export const MAX_CURSOR_LENGTH = 128;

/** Paging and search of the list reads: all optional. */
export interface PageQuery {
  limit?: number;
  cursor?: string;
  q?: string;
}

const DIGITS = /^[0-9]{1,6}$/;

/** Validates `limit`, `cursor` and `q`; throws VALIDATION_FAILED naming each bad one (the cursor's signature is checked later). */
export function parsePageQuery(query: Record<string, unknown> | undefined): PageQuery {
  const p = new Problems();
  const out: PageQuery = {};
  const { limit, cursor, q } = query ?? {};
  if (limit !== undefined) {
    const n = typeof limit === 'string' && DIGITS.test(limit) ? Number(limit) : Number.NaN;
    if (n >= 1 && n <= MAX_PAGE_LIMIT) out.limit = n;
    else p.add('limit', `must be an integer 1..${MAX_PAGE_LIMIT}`);
  }
  if (cursor !== undefined) {
    if (typeof cursor === 'string' && cursor.length > 0 && cursor.length <= MAX_CURSOR_LENGTH) out.cursor = cursor;
    else p.add('cursor', 'must be the nextCursor of a previous page');
  }
  if (q !== undefined) {
    // Counted in characters (code points), not UTF-16 units: a CJK or emoji search has the same room as a Latin one.
    if (typeof q === 'string' && q.length >= 1 && [...q].length <= MAX_QUERY_LENGTH) out.q = q;
    else p.add('q', `must be 1..${MAX_QUERY_LENGTH} characters`);
  }
  p.throwIfAny();
  return out;
}
