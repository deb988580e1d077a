'use strict';
// Baseline 1: bare node:http + ioredis. Answers every GET with the bytes stored under one Redis key
// (no auth, no validation, no logging). Env: PORT, REDIS_URL, KEY.
const http = require('node:http');
const Redis = require('ioredis');

const redis = new Redis(process.env.REDIS_URL);
const key = process.env.KEY;
const server = http.createServer((req, res) => {
  redis.getBuffer(key).then(
    (body) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      res.end(body);
    },
    () => {
      res.writeHead(503);
      res.end();
    },
  );
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write(`listening ${process.env.PORT}\n`));
process.on('SIGTERM', () => {
  server.close();
  redis.disconnect();
  process.exit(0);
});
