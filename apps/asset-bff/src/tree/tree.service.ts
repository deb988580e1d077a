import { Injectable } from '@nestjs/common';
import { AssetTreeNode, PortalClient } from '@app/portal-client';
import { I18nString } from '@app/portal-contracts';
import { LangPrefs, localize } from '../common/i18n';
import { mapUpstreamError } from '../upstream/portal-error.mapper';
import { TreeQuery } from './tree.query';

/** A tree node as the caller sees it (API.md section 3). */
export interface TreeNodeView {
  id: string;
  kind: 'node' | 'asset';
  name: string;
  names: I18nString;
  parentId: string | null;
  order: number;
  tags: { key: string; value: string }[];
  type?: string;
  typeName?: string;
  children: TreeNodeView[];
  associatedResources?: TreeNodeView[];
}

export interface FlatNodeView {
  id: string;
  kind: 'node' | 'asset';
  name: string;
  parentId: string | null;
  depth: number;
  path: string[];
}

const byOrderThenName = (a: TreeNodeView, b: TreeNodeView): number =>
  a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The caller's app asset tree, fetched with the caller's own token, localized and sorted. Never cached: it is per token. */
@Injectable()
export class TreeService {
  constructor(private readonly portal: PortalClient) {}

  async tree(
    userToken: string,
    accessKey: string,
    q: TreeQuery,
    prefs: LangPrefs,
  ): Promise<{ accessKey: string; root: TreeNodeView } | { accessKey: string; nodes: FlatNodeView[] }> {
    let raw: AssetTreeNode;
    try {
      raw = await this.portal.getAppAssetTree(userToken, accessKey, { resourceTypes: q.types, associated: q.associated });
    } catch (err) {
      throw mapUpstreamError(err, 'tree');
    }
    const root = toView(raw, prefs);
    if (q.view === 'tree') return { accessKey, root };
    const nodes: FlatNodeView[] = [];
    flatten(root, 0, [], nodes);
    return { accessKey, nodes };
  }
}

function toView(n: AssetTreeNode, prefs: LangPrefs): TreeNodeView {
  const v: TreeNodeView = {
    id: n.id,
    kind: n.kind,
    name: localize(n.names, prefs) || n.id,
    names: n.names,
    parentId: n.parentId,
    order: n.order,
    tags: n.tags,
    children: n.children.map((c) => toView(c, prefs)).sort(byOrderThenName),
  };
  if (n.type !== undefined) v.type = n.type;
  if (n.typeName !== undefined) v.typeName = localize(n.typeName, prefs);
  if (n.associatedResources) v.associatedResources = n.associatedResources.map((c) => toView(c, prefs)).sort(byOrderThenName);
  return v;
}

/** Depth-first, pre-order; the root has depth 0 and an empty path; path lists ancestor ids root first. */
function flatten(n: TreeNodeView, depth: number, path: string[], out: FlatNodeView[]): void {
  out.push({ id: n.id, kind: n.kind, name: n.name, parentId: n.parentId, depth, path });
  const childPath = [...path, n.id];
  for (const c of n.children) flatten(c, depth + 1, childPath, out);
}
