import { I18nString } from '@app/portal-contracts';
import { AssetTreeNode } from './portal-client.types';

/** Deeper trees than this are treated as malformed (guards the recursion). */
export const MAX_TREE_DEPTH = 500;

/** A tree the portal sent that cannot be normalized; the client turns it into a BadResponse. */
export class MalformedTreeError extends Error {}

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function i18n(v: unknown, where: string): I18nString | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new MalformedTreeError(`${where} is not an I18nString`);
  const out: I18nString = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val === 'string') out[k] = val;
    else if (val !== null && val !== undefined) throw new MalformedTreeError(`${where}.${k} is not a string`);
  }
  return out;
}

function order(node: Raw, where: string): number {
  const raw = node.displayOrder ?? node.displayorder;
  if (raw === undefined || raw === null) return 0;
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new MalformedTreeError(`${where}.displayOrder is not a number`);
  return n;
}

function list(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new MalformedTreeError(`${where} is not a list`);
  return v;
}

function normalizeNode(raw: unknown, where: string, depth: number): AssetTreeNode {
  if (depth > MAX_TREE_DEPTH) throw new MalformedTreeError(`tree deeper than ${MAX_TREE_DEPTH}`);
  if (!isObject(raw)) throw new MalformedTreeError(`${where} is not an object`);
  const id = str(raw.id);
  if (!id) throw new MalformedTreeError(`${where}.id is missing`);
  const here = `node ${JSON.stringify(id.slice(0, 64))}`;

  const name = str(raw.name);
  const names = i18n(raw.nameJson, `${here}.nameJson`) ?? { default: name ?? '' };
  // nameJson without a usable default still deserves the plain name as its default.
  if (!names.default && name) names.default = name;

  const data = raw.data;
  if (data !== undefined && data !== null && !isObject(data)) throw new MalformedTreeError(`${here}.data is not an object`);
  const rawType = raw.type ?? (data ? data.type : undefined);
  const type = rawType === undefined || rawType === null ? undefined : str(rawType);
  if (rawType !== undefined && rawType !== null && type === undefined) throw new MalformedTreeError(`${here}.type is not a string`);
  const typeName = i18n(raw.typeName ?? (data ? data.typeName : undefined), `${here}.typeName`);

  const tags = list(raw.tags, `${here}.tags`).map((t, i) => {
    if (!isObject(t)) throw new MalformedTreeError(`${here}.tags[${i}] is not an object`);
    const key = str(t.key);
    if (key === undefined) throw new MalformedTreeError(`${here}.tags[${i}].key is missing`);
    return { key, value: str(t.value) ?? '' };
  });

  const parentRaw = raw.parentId;
  if (parentRaw !== undefined && parentRaw !== null && str(parentRaw) === undefined) throw new MalformedTreeError(`${here}.parentId is not a string`);
  const parentId = parentRaw === undefined || parentRaw === null || parentRaw === '' ? null : (str(parentRaw) as string);

  const node: AssetTreeNode = {
    id,
    kind: raw.tag === 'asset' ? 'asset' : 'node',
    names,
    parentId,
    order: order(raw, here),
    tags,
    children: list(raw.children, `${here}.children`).map((c, i) => normalizeNode(c, `${here}.children[${i}]`, depth + 1)),
  };
  if (type !== undefined) node.type = type;
  if (typeName !== undefined) node.typeName = typeName;
  const associated = list(raw.associatedResources, `${here}.associatedResources`);
  if (associated.length > 0) {
    node.associatedResources = associated.map((c, i) => normalizeNode(c, `${here}.associatedResources[${i}]`, depth + 1));
  }
  return node;
}

/**
 * Normalizes a raw `user/app/asset/tree` node (and its subtree) whatever quirks it carries.
 * Throws MalformedTreeError when the shape cannot be trusted.
 */
export function normalizeTree(raw: unknown): AssetTreeNode {
  return normalizeNode(raw, 'root', 0);
}
