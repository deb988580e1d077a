'use strict';
// Baseline 2: bare node:http answering every GET with the same bytes from a variable. Env: PORT, BODY_FILE.
const http = require('node:http');
const { readFileSync } = require('node:fs');

const body = readFileSync(process.env.BODY_FILE);
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write(`listening ${process.env.PORT}\n`));
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
