import { hashSliced } from '@app/asset-cache';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { LangPrefs, prefsKey } from '../common/i18n';
import { Signer } from '../common/signer';

/** What a cursor is bound to: a cursor of another OU, user or query does not verify. */
export interface CursorScope {
  orgId: string;
  userId: string;
  q?: string;
  /** The languages matter only with `q` (it matches localized names). */
  prefs: LangPrefs;
}

/** `<set version>.<offset>.<signature>`, the numbers in base 36. */
const FORMAT = /^([0-9a-z]{1,12})\.([0-9a-z]{1,8})\.([A-Za-z0-9_-]{43})$/;
const RADIX = 36;

const STALE_DETAIL = "the user's assets changed since this cursor was issued: read again from the first page";

const badCursor = (problem: string): AppException => AppException.validation([{ field: 'cursor', problems: [problem] }]);

/** Bits of a list's digest kept as its version: it must fit a JavaScript number and a cursor's 12 base-36 digits. */
const VERSION_BYTES = 6;

/**
 * The version of the list a page is cut from: a digest of its ids, in order (hashSliced, so a 100,000-asset set does
 * not hold the event loop). A reload that brings the same list back keeps a cursor valid (a no-cache read, a refresh,
 * a token, another instance), while any change to the list stales it.
 */
export async function listVersion(ids: readonly string[]): Promise<number> {
  return (await hashSliced(ids.length, (i) => [ids[i]])).readUIntBE(0, VERSION_BYTES);
}

/**
 * Page cursors: the offset of the next page in one version of a list (listVersion: the user's set, or its matches of
 * `q`), signed with the OU, user and query, so a cursor is opaque, cannot be forged or moved to another user, and
 * tells a changed list apart.
 */
export class Cursors {
  constructor(private readonly signer: Signer) {}

  /** The cursor of the page starting at `offset` of version `version`. */
  cut(scope: CursorScope, version: number, offset: number): string {
    const head = `${version.toString(RADIX)}.${offset.toString(RADIX)}`;
    return `${head}.${this.signer.sign(bound(scope, head))}`;
  }

  /**
   * Where a cursor points, checked before anything is read: 400 naming `cursor` when it is malformed or not this
   * scope's (so bad input never costs a cache read or an upstream call).
   */
  open(cursor: string, scope: CursorScope): CursorPosition {
    const m = FORMAT.exec(cursor);
    if (!m) throw badCursor('must be the nextCursor of a previous page');
    const head = `${m[1]}.${m[2]}`;
    if (!this.signer.verify(bound(scope, head), m[3])) throw badCursor('was not issued for this OU, user and query');
    return { version: parseInt(m[1], RADIX), offset: parseInt(m[2], RADIX) };
  }
}

/** A verified cursor: the set version it was cut from and the offset of its page. */
export interface CursorPosition {
  version: number;
  offset: number;
}

/** The offset of an opened cursor in list version `version`; 409 CURSOR_STALE when the list changed since it was cut. */
export function offsetIn(position: CursorPosition | undefined, version: number): number {
  if (position === undefined) return 0;
  if (position.version !== version) throw new AppException(ErrorCode.CursorStale, STALE_DETAIL);
  return position.offset;
}

/** The signed text: the cursor's head and everything it is bound to (ids cannot contain the separator). */
function bound(scope: CursorScope, head: string): string {
  const q = scope.q === undefined ? '' : `${scope.q.toLowerCase()}\u0000${prefsKey(scope.prefs)}`;
  return `${scope.orgId}\u0000${scope.userId}\u0000${q}\u0000${head}`;
}
