import { readFileSync } from 'node:fs';
import { SimDataFile, SimDataTreeNode } from '@app/sim-contracts';
import { regularTree } from './generator';
import { Grant } from './grant';
import { SimData, SimOrg, StructureNode } from './sim-model';
import { emptyData } from './generator';

/** Loads a `SIM_DATA_FILE` (shape: SimDataFile in @app/sim-contracts) into the simulator's model. */
export function loadDataFile(path: string): SimData {
  return fromDataFile(JSON.parse(readFileSync(path, 'utf8')) as SimDataFile);
}

export function fromDataFile(file: SimDataFile): SimData {
  const data = emptyData();
  for (const t of file.resourceTypes ?? []) data.resourceTypes.set(t.code, t);
  for (const o of file.orgs) {
    const name = o.name ?? { default: o.orgId };
    const org = new SimOrg(o.orgId, name, o.assets, regularTree(o.orgId, name, 0, 0, 0));
    const idx = (id: string): number => {
      const i = org.assetIndex.get(id);
      if (i === undefined) throw new Error(`SIM_DATA_FILE: org ${o.orgId} references unknown asset ${id}`);
      return i;
    };
    const toNode = (n: SimDataTreeNode, order: number): StructureNode => ({
      id: n.id,
      name: n.name,
      tags: n.tags ?? [],
      displayOrder: n.displayOrder ?? order,
      children: (n.children ?? []).map(toNode),
      assets: (n.assetIds ?? []).map(idx),
      associated: (n.associatedAssetIds ?? []).map(idx),
    });
    org.root = o.tree
      ? { ...org.root, children: o.tree.map(toNode) }
      : regularTree(o.orgId, name, 1, Math.max(1, Math.ceil(o.assets.length / 50)), o.assets.length);
    for (const u of o.users) {
      const grant = u.assetIds
        ? Grant.ofIndices(u.assetIds.map(idx))
        : Grant.ofWindows(
            (u.windows ?? []).map(([offset, count]) => ({ offset, count })),
            o.assets.length,
          );
      org.users.set(u.userId, grant);
    }
    data.orgs.set(o.orgId, org);
  }
  return data;
}
