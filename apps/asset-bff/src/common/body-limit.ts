import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { AppException } from './app.exception';
import { ErrorCode } from './error-code';

/**
 * Most bytes of an oversized body read and discarded after its 413 was sent; a client sending more loses its
 * connection (reading costs the service no memory, only the network).
 */
export const OVERSIZE_DRAIN_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Bodies over the limit get a 413 problem+json the client can read while it is still sending, on every route. Node's
 * HTTP server destroys the socket right after an answer marked `Connection: close` (fastify marks its 413 so), and a
 * client still writing its body then meets a reset instead of the answer. So the 413 keeps the connection, the rest
 * of the body is read and discarded up to OVERSIZE_DRAIN_MAX_BYTES, and only a longer one has its connection cut.
 * A declared Content-Length over the limit is refused before access checks and routing; a chunked body when fastify
 * has read past the limit.
 */
export function installBodyLimitAnswer(fastify: FastifyInstance, limitBytes: number): void {
  // Callback hooks, not async ones: they run on every request and finish at once (no promise per request).
  fastify.addHook('onRequest', (req, _reply, done) => {
    done(Number(req.headers['content-length']) > limitBytes ? new AppException(ErrorCode.PayloadTooLarge) : undefined);
  });
  fastify.addHook('onSend', (req, reply, payload, done) => {
    if (reply.statusCode === 413) {
      reply.removeHeader('connection');
      drainBounded(req.raw, OVERSIZE_DRAIN_MAX_BYTES);
    }
    done(null, payload);
  });
}

/** Reads and discards what is left of the request body; destroys the connection past `maxBytes`. */
function drainBounded(raw: IncomingMessage, maxBytes: number): void {
  if (raw.complete) return;
  let read = 0;
  raw.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > maxBytes) raw.socket.destroy();
  });
  raw.resume();
}
