import Redis, { Cluster } from 'ioredis';
import { freePort } from '../support/ports';
import { startCluster, waitFor } from '../support/redis';
import { describeCoreSuite } from './support/core-suite';

/** Seconds a 3-master cluster may take to form on a loaded machine. */
const CLUSTER_START_TIMEOUT_MS = 60_000;

describe('AssetSetCache on a 3-master Redis Cluster', () => {
  let cluster: { nodes: string[]; stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    cluster = await startCluster(ports);
    // startCluster checks one node; the suite starts once every master sees the whole cluster.
    for (const port of ports) {
      const node = new Redis(port, '127.0.0.1');
      await waitFor(async () => /cluster_state:ok/.test(String(await node.cluster('INFO'))), CLUSTER_START_TIMEOUT_MS, `node ${port} ready`);
      node.disconnect();
    }
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
