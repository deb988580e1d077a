import { I18nString, StructureTag } from '@app/portal-contracts';
import { Grant } from './grant';

/** One asset of an OU. */
export interface SimAsset {
  id: string;
  name: I18nString;
  type: string;
}

/** A resource type with its I18n name. */
export interface SimResourceType {
  code: string;
  typeName: I18nString;
}

/** A node of an OU's org-structure tree; assets (indices into the OU's asset array) only on leaves. */
export interface StructureNode {
  id: string;
  name: I18nString;
  tags: StructureTag[];
  displayOrder: number;
  children: StructureNode[];
  assets: number[];
  associated: number[];
}

/** An OU with its assets, users (insertion order = seed order) and tree. */
export class SimOrg {
  readonly assetIndex = new Map<string, number>();
  readonly users = new Map<string, Grant>();

  constructor(
    readonly orgId: string,
    readonly name: I18nString,
    readonly assets: SimAsset[],
    public root: StructureNode,
  ) {
    assets.forEach((a, i) => this.assetIndex.set(a.id, i));
  }

  /** Distinct resource types of the OU's assets, in first-seen order. */
  resourceTypes(): string[] {
    const seen = new Set<string>();
    for (const a of this.assets) seen.add(a.type);
    return [...seen];
  }
}

/** The whole simulated portal data set. */
export interface SimData {
  resourceTypes: Map<string, SimResourceType>;
  orgs: Map<string, SimOrg>;
}
