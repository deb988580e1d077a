import { RawTreeNode } from '@app/portal-contracts';
import { MalformedTreeError, normalizeTree } from './tree-normalizer';

const clean: RawTreeNode = {
  id: 'root',
  name: 'Root',
  nameJson: { default: 'Root', zh_CN: '根' },
  tag: null,
  tags: [{ id: 1, key: 'site', value: 'north' }],
  displayOrder: 0,
  parentId: '',
  children: [
    {
      id: 'n1',
      name: 'Node 1',
      nameJson: { default: 'Node 1' },
      tag: null,
      tags: [],
      displayOrder: 2,
      parentId: 'root',
      children: [
        {
          id: 'a1',
          name: 'Asset 1',
          nameJson: { default: 'Asset 1', en_US: 'Asset 1' },
          tag: 'asset',
          displayOrder: -1,
          parentId: 'n1',
          type: 'inverter',
          typeName: { default: 'Inverter' },
          children: [],
        },
      ],
      associatedResources: [],
    },
  ],
  associatedResources: [
    {
      id: 'r1',
      name: 'Res',
      nameJson: { default: 'Res' },
      tag: 'asset',
      displayOrder: 1,
      parentId: 'root',
      type: 't',
      typeName: { default: 'T' },
      children: [],
    },
  ],
};

/** The same tree with every quirk seen in the wild. */
const quirky: unknown = {
  id: 'root',
  name: 'Root',
  nameJson: { default: 'Root', zh_CN: '根' },
  tags: [{ id: 1, key: 'site', value: 'north' }],
  displayorder: 0,
  parentId: null,
  children: [
    {
      id: 'n1',
      name: 'Node 1',
      nameJson: { default: 'Node 1' },
      tag: null,
      tags: null,
      displayorder: 2,
      parentId: 'root',
      children: [
        {
          id: 'a1',
          name: 'Asset 1',
          nameJson: { default: 'Asset 1', en_US: 'Asset 1' },
          tag: 'asset',
          displayorder: -1,
          parentId: 'n1',
          data: { type: 'inverter', typeName: { default: 'Inverter' } },
          children: null,
        },
      ],
      associatedResources: null,
    },
  ],
  associatedResources: [
    { id: 'r1', name: 'Res', nameJson: { default: 'Res' }, tag: 'asset', displayorder: 1, parentId: 'root', data: { type: 't', typeName: { default: 'T' } } },
  ],
};

describe('normalizeTree', () => {
  it('normalizes the clean tree', () => {
    const t = normalizeTree(clean);
    expect(t).toEqual({
      id: 'root',
      kind: 'node',
      names: { default: 'Root', zh_CN: '根' },
      parentId: null,
      order: 0,
      tags: [{ key: 'site', value: 'north' }],
      children: [
        {
          id: 'n1',
          kind: 'node',
          names: { default: 'Node 1' },
          parentId: 'root',
          order: 2,
          tags: [],
          children: [
            {
              id: 'a1',
              kind: 'asset',
              names: { default: 'Asset 1', en_US: 'Asset 1' },
              parentId: 'n1',
              order: -1,
              tags: [],
              type: 'inverter',
              typeName: { default: 'Inverter' },
              children: [],
            },
          ],
        },
      ],
      associatedResources: [
        { id: 'r1', kind: 'asset', names: { default: 'Res' }, parentId: 'root', order: 1, tags: [], type: 't', typeName: { default: 'T' }, children: [] },
      ],
    });
  });

  it('normalizes the quirky spelling of the same tree identically', () => {
    expect(normalizeTree(quirky)).toEqual(normalizeTree(clean));
  });

  it('falls back to {default: name} without nameJson and to order 0 without displayOrder', () => {
    const t = normalizeTree({ id: 'x', name: 'Plain' });
    expect(t).toEqual({ id: 'x', kind: 'node', names: { default: 'Plain' }, parentId: null, order: 0, tags: [], children: [] });
    expect('associatedResources' in t).toBe(false);
    expect('type' in t).toBe(false);
  });

  it('prefers displayOrder over displayorder and keeps a nameJson default-less name usable', () => {
    const t = normalizeTree({ id: 'x', name: 'Plain', nameJson: { zh_CN: '平' }, displayOrder: 3, displayorder: 9 });
    expect(t.order).toBe(3);
    expect(t.names).toEqual({ zh_CN: '平', default: 'Plain' });
  });

  it.each([
    ['not an object', 'tree'],
    ['null', null],
    ['no id', { name: 'x' }],
    ['children not a list', { id: 'x', children: { id: 'y' } }],
    ['child without id', { id: 'x', children: [{ name: 'y' }] }],
    ['bad displayOrder', { id: 'x', displayOrder: 'first' }],
    ['bad nameJson', { id: 'x', nameJson: 'Root' }],
    ['bad tag', { id: 'x', tags: ['k=v'] }],
  ])('rejects a malformed tree (%s) with MalformedTreeError', (_name, raw) => {
    expect(() => normalizeTree(raw)).toThrow(MalformedTreeError);
  });

  it('rejects a pathologically deep tree instead of overflowing the stack', () => {
    let raw: Record<string, unknown> = { id: 'leaf' };
    for (let i = 0; i < 5000; i++) raw = { id: `n${i}`, children: [raw] };
    expect(() => normalizeTree(raw)).toThrow(MalformedTreeError);
  });
});
