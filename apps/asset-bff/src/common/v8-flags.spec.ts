import { v8FlagsToSet } from './v8-flags';

describe('v8FlagsToSet', () => {
  it('sets both options when the command line gives neither', () => {
    expect(v8FlagsToSet(['--enable-source-maps'])).toEqual(['--heap-growing-percent=100', '--no-allocation-site-pretenuring']);
  });

  it("leaves each option to the operator's own, in either spelling", () => {
    expect(v8FlagsToSet(['--heap-growing-percent=0'])).toEqual(['--no-allocation-site-pretenuring']);
    expect(v8FlagsToSet(['--heap_growing_percent=50'])).toEqual(['--no-allocation-site-pretenuring']);
    expect(v8FlagsToSet(['--allocation-site-pretenuring'])).toEqual(['--heap-growing-percent=100']);
    expect(v8FlagsToSet(['--no-allocation_site_pretenuring', '--heap-growing-percent=100'])).toEqual([]);
  });

  it('does not take an option whose name only starts like one of them', () => {
    expect(v8FlagsToSet(['--heap-growing-percent-extra=1'])).toEqual(['--heap-growing-percent=100', '--no-allocation-site-pretenuring']);
  });
});
