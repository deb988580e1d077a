import Redis from 'ioredis';
import { TEST_REDIS_PORT, TEST_REDIS_URL } from './test-redis';

/**
 * A clean logical database of the shared Redis on 127.0.0.1:6379 for one suite, so that suites (run one
 * after another) never see each other's cached entries. Returns its URL.
 */
export async function cleanRedisDb(db: number): Promise<string> {
  const r = new Redis({ host: '127.0.0.1', port: TEST_REDIS_PORT, db, lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  await r.flushdb();
  r.disconnect();
  return `${TEST_REDIS_URL}/${db}`;
}

/** Bytes of memory the Redis at `url` reports (INFO memory used_memory). */
export async function usedMemory(url: string): Promise<number> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  const info = await r.info('memory');
  r.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}
