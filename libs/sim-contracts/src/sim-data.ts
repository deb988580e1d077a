import { I18nString, StructureTag } from '@app/portal-contracts';

/**
 * Shape of the simulator's `SIM_DATA_FILE` (JSON), loaded instead of generating data.
 *
 * ```json
 * {
 *   "resourceTypes": [{ "code": "inverter", "typeName": { "default": "Inverter", "zh_CN": "逆变器" } }],
 *   "orgs": [{
 *     "orgId": "o1", "name": { "default": "My OU" },
 *     "assets": [{ "id": "a1", "name": { "default": "INV-01" }, "type": "inverter" }],
 *     "tree": { "id": "o1-n1", "name": { "default": "Site 1" }, "children": [], "assetIds": ["a1"] },
 *     "users": [{ "userId": "u1", "assetIds": ["a1"] }, { "userId": "u2", "windows": [[0, 1]] }]
 *   }]
 * }
 * ```
 * `tree` lists the OU root's children (the root itself is the OU); when absent, a tree is generated.
 * A user's grant is `assetIds`, or `windows` of `[offset, count]` over the OU's `assets` array.
 */
export interface SimDataFile {
  resourceTypes?: { code: string; typeName: I18nString }[];
  orgs: SimDataOrg[];
}

/** One OU of a `SIM_DATA_FILE`. */
export interface SimDataOrg {
  orgId: string;
  name?: I18nString;
  assets: { id: string; name: I18nString; type: string }[];
  /** Children of the OU root node; generated when absent. */
  tree?: SimDataTreeNode[];
  users: { userId: string; assetIds?: string[]; windows?: [number, number][] }[];
}

/** One structure node of a `SIM_DATA_FILE` tree; assets may only be mounted on leaves. */
export interface SimDataTreeNode {
  id: string;
  name: I18nString;
  tags?: StructureTag[];
  displayOrder?: number;
  children?: SimDataTreeNode[];
  assetIds?: string[];
  associatedAssetIds?: string[];
}
