import { batchView, view } from './asset-view';

describe('asset views', () => {
  const names = { default: 'Asset 1', zh_CN: '资产 1 号', en: '' };

  it('names the asset in the preferred language, falling back as localize does, and by its id when it has no name', () => {
    expect(view('a1', { names }, ['zh_CN'])).toEqual({ id: 'a1', name: '资产 1 号', names });
    expect(view('a1', { names }, ['en'])).toEqual({ id: 'a1', name: 'Asset 1', names });
    expect(view('a1', { names: {} }, ['en'])).toEqual({ id: 'a1', name: 'a1', names: {} });
    expect(view('a2', undefined, ['en'])).toEqual({ id: 'a2', name: 'a2', names: { default: 'a2' } });
  });

  it('gives a batch asset its type, localized type name and type names (null when unknown), after the view, in that key order', () => {
    const typeNames = { default: 'Inverter', zh_CN: '逆变器' };
    const b = batchView('a1', { names, type: 'inverter', typeNames }, ['zh_CN']);
    expect(JSON.stringify(b)).toBe(JSON.stringify({ id: 'a1', name: '资产 1 号', names, type: 'inverter', typeName: '逆变器', typeNames }));
    expect(batchView('a2', undefined, [])).toEqual({ id: 'a2', name: 'a2', names: { default: 'a2' }, type: null, typeName: null, typeNames: null });
  });
});
