/**
 * Port of the shared Redis the e2e suites use: 6379, or TEST_REDIS_PORT so that two checkouts can run their
 * suites at the same time, each against its own redis-server.
 */
export const TEST_REDIS_PORT = Number(process.env.TEST_REDIS_PORT ?? 6379);
export const TEST_REDIS_URL = `redis://127.0.0.1:${TEST_REDIS_PORT}`;
