import { describeCoreSuite } from './support/core-suite';

describe('AssetSetCache on the in-process driver', () => {
  describeCoreSuite({ store: () => ({}), shared: false });
});
