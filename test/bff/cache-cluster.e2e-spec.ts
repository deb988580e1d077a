import { freeClusterPort } from '../support/ports';
import { startCluster } from '../support/redis';
import { describeSharedCache } from './cache-behaviour';

let cluster: { nodes: string[]; stop(): Promise<void> } | undefined;

describeSharedCache(
  'shared cache on a three-master Redis Cluster (two instances)',
  async () => {
    cluster = await startCluster([await freeClusterPort(), await freeClusterPort(), await freeClusterPort()]);
    return { REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.nodes.join(',') };
  },
  async () => {
    await cluster?.stop();
  },
);
