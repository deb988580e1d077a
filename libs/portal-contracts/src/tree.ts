import { I18nString } from './i18n';

/** A structure tag on an org-structure node. */
export interface StructureTag {
  id: number;
  key: string;
  value: string;
}

/**
 * A node of `user/app/asset/tree` as the portal sends it. Quirks seen in the wild: `displayorder` instead
 * of `displayOrder`; `type`/`typeName` on the node or under `data`; `children`/`associatedResources` absent or null.
 */
export interface RawTreeNode {
  id: string;
  name?: string | null;
  nameJson?: I18nString | null;
  tag?: 'asset' | null;
  tags?: StructureTag[] | null;
  displayOrder?: number | null;
  displayorder?: number | null;
  parentId?: string | null;
  type?: string | null;
  typeName?: I18nString | null;
  data?: { type?: string | null; typeName?: I18nString | null } | null;
  children?: RawTreeNode[] | null;
  associatedResources?: RawTreeNode[] | null;
}
