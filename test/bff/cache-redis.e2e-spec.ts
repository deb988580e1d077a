import { cleanRedisDb } from '../support/redis-db';
import { describeSharedCache } from './cache-behaviour';

describeSharedCache('shared cache on Redis (two instances)', async () => ({ REDIS_URL: await cleanRedisDb(4) }));
