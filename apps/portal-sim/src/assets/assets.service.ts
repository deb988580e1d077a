import { Injectable } from '@nestjs/common';
import { AssetListData, AssetListRequest, PortalCode, PortalLimits, UserAssetInfo, UsersAssetListRequest } from '@app/portal-contracts';
import { PortalError, badRequest } from '../common/portal-error';
import { SimControl } from '../calls/sim-control.service';
import { RawJson } from '../common/raw-json';
import { SimStore } from '../data/sim-store.service';
import { Grant } from '../data/grant';
import { SimOrg } from '../data/sim-model';

/**
 * JSON encodings of all of an OU's assets in OU order: `,"<id>"` and `,{id,name,type,typeName}` (each with a
 * leading comma), concatenated; asset i spans [offsets[i], offsets[i + 1]).
 */
interface OrgEncoding {
  ids: Buffer;
  idOffsets: Uint32Array;
  details: Buffer;
  detailOffsets: Uint32Array;
}

/** One user's encoded element, and what it was made from. */
interface UserEncoding {
  enc: OrgEncoding;
  userId: string;
  version: number;
  bytes: Buffer;
}

/** Collects byte ranges and strings, then copies them into one buffer allocated once. */
class ByteBuilder {
  private readonly sources: (Buffer | string)[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private length = 0;

  slice(src: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.sources.push(src);
    this.starts.push(start);
    this.ends.push(end);
    this.length += end - start;
  }

  text(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.sources.push(s);
    this.starts.push(0);
    this.ends.push(n);
    this.length += n;
  }

  /**
   * The items at `indices` of a comma-joined encoding (item i spans [offsets[i], offsets[i + 1]) and starts
   * with a comma), as one comma-separated list: runs of consecutive indices are copied at once.
   */
  runs(src: Buffer, offsets: Uint32Array, indices: Iterable<number>): void {
    let runStart = -1;
    let runEnd = -1;
    let first = true;
    const flush = (): void => {
      if (runStart < 0) return;
      this.slice(src, offsets[runStart] + (first ? 1 : 0), offsets[runEnd]);
      first = false;
    };
    for (const i of indices) {
      if (i === runEnd) runEnd++;
      else {
        flush();
        runStart = i;
        runEnd = i + 1;
      }
    }
    flush();
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    let off = 0;
    for (let k = 0; k < this.sources.length; k++) {
      const src = this.sources[k];
      if (typeof src === 'string') off += out.write(src, off, 'utf8');
      else {
        // a view and set(): cheaper per call than Buffer#copy for the many small ranges of a page
        out.set(src.subarray(this.starts[k], this.ends[k]), off);
        off += this.ends[k] - this.starts[k];
      }
    }
    return out;
  }
}

/** Users' encoded elements kept per OU, and the largest one kept (a user of 10,000 assets: ~200 KB, not kept). */
const USER_ENCODINGS_MAX_BYTES = 64 * 1024 * 1024;
const USER_ENCODING_MAX_BYTES = 16 * 1024;

/** A user's element of a users/assetList answer, `,{"userId":…,"userAssetIds":[…]}` (with a leading comma), for the OU's assets at `indices`. */
function userElement(enc: OrgEncoding, userId: string, indices: Iterable<number>): Buffer {
  const b = new ByteBuilder();
  b.text(`,{"userId":${JSON.stringify(userId)},"userAssetIds":[`);
  b.runs(enc.ids, enc.idOffsets, indices);
  b.text(']}');
  return b.toBuffer();
}

/** Longest id the simulator accepts (the portal's "character limits exceeded"). */
const MAX_ID_LENGTH = 128;

/** `users/assetList` and `asset/list` over the store. */
@Injectable()
export class AssetsService {
  private readonly encodings = new WeakMap<SimOrg, OrgEncoding>();
  private readonly nameEncodings = new WeakMap<SimOrg, { bytes: Buffer; offsets: Uint32Array }>();
  /** Each user's `,{"userId":…,"userAssetIds":[…]}` (with a leading comma) of an unfiltered answer, while the grant and the OU's encoding stay the same. */
  private readonly userEncodings = new WeakMap<Grant, UserEncoding>();
  private readonly userEncodingBytes = new WeakMap<SimOrg, { bytes: number }>();

  constructor(
    private readonly store: SimStore,
    private readonly control: SimControl,
  ) {}

  /**
   * Users of the request that are not in the OU are omitted from `usersUserAssets` (the real portal omits
   * them or returns them with empty lists); duplicates are answered once, in request order.
   * The answer (UsersAssetListData) comes back already encoded: every asset's id and details are
   * JSON-encoded once per OU into two contiguous buffers, and the answer copies runs of consecutive assets
   * out of them, so a 1,000-user call on the large profile (~28 MB) costs a few thousand memcpys instead
   * of a JSON.stringify of the object graph (~1 s).
   */
  usersAssetListRaw(body: unknown): RawJson {
    const req = validateUsersAssetList(body);
    if (!this.control.appPermission) throw new PortalError(PortalCode.NotPermitted, 'The application has not been granted the permission');
    const org = this.store.org(req.organizationId);
    if (!org) throw new PortalError(PortalCode.NotFound, 'OU not found');
    const types = req.resourceTypes?.length ? new Set(req.resourceTypes) : undefined;
    const enc = this.encoded(org);
    const out = new ByteBuilder();
    const used = new Uint8Array(org.assets.length);
    const seen = new Set<string>();
    out.text('{"usersUserAssets":[');
    let firstUser = true;
    for (const userId of req.userIds) {
      if (seen.has(userId)) continue;
      seen.add(userId);
      const grant = org.users.get(userId);
      if (!grant) continue;
      let own: Buffer;
      if (types) {
        const picked: number[] = [];
        grant.forEach((i) => {
          if (!types.has(org.assets[i].type)) return;
          used[i] = 1;
          picked.push(i);
        });
        own = userElement(enc, userId, picked);
      } else {
        own = this.userEncoded(org, enc, userId, grant);
        grant.markIn(used);
      }
      // it starts with a comma: the first user's goes
      out.slice(own, firstUser ? 1 : 0, own.length);
      firstUser = false;
    }
    out.text('],"userAssets":[');
    let firstAsset = true;
    for (let i = 0; i < used.length;) {
      if (!used[i]) {
        i++;
        continue;
      }
      let j = i + 1;
      while (j < used.length && used[j]) j++;
      out.slice(enc.details, enc.detailOffsets[i] + (firstAsset ? 1 : 0), enc.detailOffsets[j]);
      firstAsset = false;
      i = j;
    }
    out.text(']}');
    return new RawJson(out.toBuffer());
  }

  /**
   * A user's element of an unfiltered users/assetList answer, made once per grant version and OU encoding and kept
   * within USER_ENCODINGS_MAX_BYTES per OU (users of the large profile's 10,000-asset grants are made every time).
   */
  private userEncoded(org: SimOrg, enc: OrgEncoding, userId: string, grant: Grant): Buffer {
    const known = this.userEncodings.get(grant);
    if (known && known.enc === enc && known.userId === userId && known.version === grant.version) return known.bytes;
    const all: number[] = [];
    grant.forEach((i) => all.push(i));
    const bytes = userElement(enc, userId, all);
    let kept = this.userEncodingBytes.get(org);
    if (!kept) this.userEncodingBytes.set(org, (kept = { bytes: 0 }));
    // an outdated element goes, whether or not the new one is kept
    if (known) {
      this.userEncodings.delete(grant);
      kept.bytes -= known.bytes.length;
    }
    if (bytes.length <= USER_ENCODING_MAX_BYTES && kept.bytes + bytes.length <= USER_ENCODINGS_MAX_BYTES) {
      this.userEncodings.set(grant, { enc, userId, version: grant.version, bytes });
      kept.bytes += bytes.length;
    }
    return bytes;
  }

  /** Per-OU encoding memo; an OU's asset array never changes (reset and createOrg make new SimOrg objects). */
  private encoded(org: SimOrg): OrgEncoding {
    let enc = this.encodings.get(org);
    if (enc) return enc;
    const n = org.assets.length;
    const idOffsets = new Uint32Array(n + 1);
    const detailOffsets = new Uint32Array(n + 1);
    const ids: string[] = new Array(n);
    const details: string[] = new Array(n);
    let idBytes = 0;
    let detailBytes = 0;
    for (let i = 0; i < n; i++) {
      const a = org.assets[i];
      const info: UserAssetInfo = { id: a.id, name: a.name, type: a.type, typeName: this.store.typeName(a.type) };
      ids[i] = `,${JSON.stringify(a.id)}`;
      details[i] = `,${JSON.stringify(info)}`;
      idOffsets[i] = idBytes;
      detailOffsets[i] = detailBytes;
      idBytes += Buffer.byteLength(ids[i], 'utf8');
      detailBytes += Buffer.byteLength(details[i], 'utf8');
    }
    idOffsets[n] = idBytes;
    detailOffsets[n] = detailBytes;
    enc = { ids: Buffer.from(ids.join(''), 'utf8'), idOffsets, details: Buffer.from(details.join(''), 'utf8'), detailOffsets };
    this.encodings.set(org, enc);
    return enc;
  }

  /**
   * One 0-based page of the user's assets in the OU's asset order (AssetListData), already encoded: runs of
   * consecutive assets are copied from the OU's `{id,name}` encoding, so a 1,000-asset page costs a few
   * memcpys instead of building and stringifying 1,000 objects (the pages of a 100,000-asset user otherwise
   * eat the core the service shares with the simulator).
   */
  assetListRaw(body: unknown): RawJson {
    const req = validateAssetList(body);
    if (!this.control.appPermission) throw new PortalError(PortalCode.NotPermitted, 'The application has no access to user information');
    const org = this.store.org(req.orgId);
    const grant = org?.users.get(req.userId);
    if (!org || !grant) throw new PortalError(PortalCode.NotFound, 'The user is not found, or not in the organization');
    const { pageNo, pageSize } = req.pagination!;
    let start = pageNo * pageSize;
    let end = start + pageSize;
    let totalElements = grant.count;
    // Page 0 is always true, so that the drift shows only as pages disagreeing with it (SimPageDrift).
    const drift = pageNo > 0 ? this.control.pageDrift(req.orgId, req.userId) : undefined;
    const lastPage = Math.max(0, Math.ceil(grant.count / pageSize) - 1);
    if (drift === 'total') totalElements += 1;
    else if (drift === 'shift' && pageNo <= lastPage) {
      start -= 1;
      end = pageNo === lastPage ? grant.count : end - 1;
    }
    const enc = this.namesEncoded(org);
    const pagination: AssetListData['pagination'] = { pageNo, pageSize, totalElements };
    const out = new ByteBuilder();
    out.text(`{"pagination":${JSON.stringify(pagination)},"assets":[`);
    out.runs(enc.bytes, enc.offsets, grant.slice(start, end));
    out.text(']}');
    return new RawJson(out.toBuffer());
  }

  /** Per-OU `,{id,name}` encoding (each with a leading comma) for asset/list pages; same lifetime rule as encoded(). */
  private namesEncoded(org: SimOrg): { bytes: Buffer; offsets: Uint32Array } {
    let enc = this.nameEncodings.get(org);
    if (enc) return enc;
    const n = org.assets.length;
    const offsets = new Uint32Array(n + 1);
    const parts: string[] = new Array(n);
    let bytes = 0;
    for (let i = 0; i < n; i++) {
      const a = org.assets[i];
      parts[i] = `,${JSON.stringify({ id: a.id, name: a.name })}`;
      offsets[i] = bytes;
      bytes += Buffer.byteLength(parts[i], 'utf8');
    }
    offsets[n] = bytes;
    enc = { bytes: Buffer.from(parts.join(''), 'utf8'), offsets };
    this.nameEncodings.set(org, enc);
    return enc;
  }
}

function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateUsersAssetList(body: unknown): UsersAssetListRequest {
  if (!isObject(body)) throw badRequest('body must be a JSON object');
  if (!isId(body.organizationId)) throw badRequest('organizationId is required');
  const { userIds, resourceTypes } = body;
  if (!Array.isArray(userIds) || userIds.length === 0) throw badRequest('userIds is required');
  if (userIds.length > PortalLimits.maxUserIds) throw badRequest(`userIds supports up to ${PortalLimits.maxUserIds} ids`);
  if (!userIds.every(isId)) throw badRequest('userIds must be non-empty strings');
  if (resourceTypes !== undefined && resourceTypes !== null) {
    if (!Array.isArray(resourceTypes) || !resourceTypes.every(isId)) throw badRequest('resourceTypes must be a list of strings');
    if (resourceTypes.length > PortalLimits.maxResourceTypes) throw badRequest(`resourceTypes supports up to ${PortalLimits.maxResourceTypes} types`);
  }
  return { organizationId: body.organizationId, userIds: userIds as string[], resourceTypes: (resourceTypes as string[] | null) ?? undefined };
}

export function validateAssetList(body: unknown): Required<AssetListRequest> {
  if (!isObject(body)) throw badRequest('body must be a JSON object');
  if (!isId(body.userId) || !isId(body.orgId)) throw badRequest('User ID and OU ID are required');
  let pageNo = 0;
  let pageSize: number = PortalLimits.defaultPageSize;
  const p = body.pagination;
  if (p !== undefined && p !== null) {
    if (!isObject(p)) throw badRequest('pagination must be an object');
    if (p.pageNo !== undefined) {
      if (!Number.isInteger(p.pageNo) || (p.pageNo as number) < 0) throw badRequest('pagination.pageNo must be an integer >= 0');
      pageNo = p.pageNo as number;
    }
    if (p.pageSize !== undefined) {
      if (!Number.isInteger(p.pageSize) || (p.pageSize as number) < 1 || (p.pageSize as number) > PortalLimits.maxPageSize) {
        throw badRequest(`pagination.pageSize must be an integer in 1..${PortalLimits.maxPageSize}`);
      }
      pageSize = p.pageSize as number;
    }
  }
  return { userId: body.userId, orgId: body.orgId, pagination: { pageNo, pageSize } };
}
