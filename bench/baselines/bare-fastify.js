'use strict';
// Baseline 3: fastify with one route answering the service's hot read from memory: the same bytes and the same
// response headers (HEADERS_FILE, copied from a service answer; a new request id each time), and nothing else
// (no auth, cache, metrics or logging). It is the most any service built on fastify reads here. Env: PORT,
// BODY_FILE, HEADERS_FILE.
const { randomUUID } = require('node:crypto');
const { readFileSync } = require('node:fs');
const fastify = require('fastify')({ logger: false, genReqId: () => randomUUID() });

const body = readFileSync(process.env.BODY_FILE);
const headers = JSON.parse(readFileSync(process.env.HEADERS_FILE, 'utf8'));
fastify.get('/v1/orgs/:orgId/users/:userId/assets', (req, reply) => {
  reply.header('x-request-id', req.id).headers(headers).send(body);
});
fastify.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(() => process.stdout.write(`listening ${process.env.PORT}\n`));
process.on('SIGTERM', () => {
  fastify.close();
  process.exit(0);
});
