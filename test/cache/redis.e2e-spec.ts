import Redis from 'ioredis';
import { describeCoreSuite } from './support/core-suite';

/** The shared Redis of the e2e suites (started by the global set-up when none runs); each test has its own key prefix. */
const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

describe('AssetSetCache on Redis', () => {
  describeCoreSuite({
    store: () => ({ redisUrl: SHARED_REDIS_URL }),
    shared: true,
    raw: () => new Redis(SHARED_REDIS_URL),
  });

  afterAll(async () => {
    // Leave the shared Redis as found: drop every key the suite's unique prefixes created.
    const raw = new Redis(SHARED_REDIS_URL);
    const stream = raw.scanStream({ match: `t-core-${process.pid}-*`, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) if (keys.length) await raw.unlink(...keys);
    raw.disconnect();
  });
});
