import { Cluster } from 'ioredis';
import { freePort } from '../support/ports';
import { startCluster } from '../support/redis';
import { describeCoreSuite } from './support/core-suite';

/** Seconds a 3-master cluster may take to form on a loaded machine. */
const CLUSTER_START_TIMEOUT_MS = 60_000;

describe('AssetSetCache on a 3-master Redis Cluster', () => {
  let cluster: { nodes: string[]; stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    cluster = await startCluster([await freePort(), await freePort(), await freePort()]);
  }, CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.stop();
  });

  const nodes = (): string[] => (cluster as { nodes: string[] }).nodes;
  describeCoreSuite({
    store: () => ({ clusterNodes: nodes() }),
    shared: true,
    raw: () => new Cluster(nodes().map((n) => ({ host: n.split(':')[0], port: Number(n.split(':')[1]) }))),
  });
});
