import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger as NestLogger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fastifyCors from '@fastify/cors';
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { Logger } from 'nestjs-pino';
import { AssetSetCache } from '@app/asset-cache';
import { AppModule } from './app.module';
import { installBodyLimitAnswer } from './common/body-limit';
import { sendProblem } from './common/problem.filter';
import { installJsonBodyParser } from './common/json-body';
import { securityHeadersOf } from './common/security-headers';
import { finishApiDocument } from './common/api-docs';
import { HTTP_CACHING_REQUEST_HEADERS, HTTP_CACHING_RESPONSE_HEADERS, installCompression } from './common/compression';
import { validateIdParams } from './common/validation';
import { loggedPath } from './common/logged-path';
import { accessHook, accessOf, assertRouteHasAccess } from './auth/access.hook';
import { AuthService } from './auth/auth.service';
import { RateLimitService, uncountedRateLimitHeaders } from './rate-limit/rate-limit.service';
import { AppConfig } from './config/app-config';
import { ConfigError, loadConfig } from './config/load-config';
import { LifecycleService } from './health/lifecycle.service';
import { AppException } from './common/app.exception';
import { ErrorCode } from './common/error-code';
import { MetricsService } from './metrics/metrics.service';
import { installRequestHooks } from './tracing/request-hooks';
import { startTracing } from './tracing/tracing';
import { v8FlagsToSet } from './common/v8-flags';

/** Long enough that an over-long id reaches validation (400 naming the field) instead of fastify's 414. */
const MAX_PARAM_LENGTH = 2048;
/** Longest the service waits for in-flight requests after the drain, and how often idle connections are closed meanwhile. */
const SHUTDOWN_TIMEOUT_MS = 15_000;
const IDLE_SWEEP_MS = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// traceparent/tracestate: a browser front end that traces its calls (W3C Trace Context) sends them on every request.
const CORS_HEADERS = [
  'Authorization',
  'X-Api-Key',
  'Content-Type',
  'X-Request-Id',
  'Cache-Control',
  'Accept-Language',
  'traceparent',
  'tracestate',
  ...HTTP_CACHING_REQUEST_HEADERS,
];
const EXPOSED_HEADERS = ['X-Request-Id', 'X-Cache', 'Age', 'Retry-After', ...HTTP_CACHING_RESPONSE_HEADERS];

const DOCS_PATH = '/docs';
/** The Swagger UI and its assets: HTML pages that get helmet's document headers. */
const LIVE_ROUTE = '/health/live';
const isDocsRoute = (url: string | undefined): boolean =>
  url !== undefined && (url === DOCS_PATH || url.startsWith(`${DOCS_PATH}/`) || url.startsWith(`${DOCS_PATH}-`));
/**
 * Security headers of the JSON API (every route but the docs): the REST set (OWASP REST Security cheat
 * sheet): a CSP that allows nothing and no framing, no framing for old browsers, no MIME sniffing, HSTS.
 * helmet's other defaults (COOP, CORP, Origin-Agent-Cluster, Referrer-Policy, X-DNS-Prefetch-Control,
 * X-Download-Options, X-Permitted-Cross-Domain-Policies, X-XSS-Protection) govern documents a browser
 * renders, not JSON fetched with credentials headers; left out, every answer is 6 header lines and ~390
 * bytes shorter for every caller to parse.
 */
const API_SECURITY = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  xFrameOptions: { action: 'deny' as const },
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};
/** Security headers of the Swagger UI (HTML): helmet's document set, with the inline script and style it needs. */
const DOCUMENT_SECURITY = {
  contentSecurityPolicy: {
    useDefaults: true,
    directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'", "'unsafe-inline'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'] },
  },
  xFrameOptions: { action: 'sameorigin' as const },
  crossOriginOpenerPolicy: true,
  crossOriginResourcePolicy: true,
  originAgentCluster: true,
  referrerPolicy: true,
  xDnsPrefetchControl: true,
  xDownloadOptions: true,
  xPermittedCrossDomainPolicies: true,
  xXssProtection: true,
};

/** The caller's X-Request-Id when it is a sane token, else a new UUID. */
function requestId(raw: IncomingMessage): string {
  const given = raw.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function configOrExit(): AppConfig {
  try {
    return loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) process.stderr.write(`asset-bff: configuration error: ${p}\n`);
      process.exit(1);
    }
    throw e;
  }
}

/** Builds the whole service; does not listen. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const tracing = await startTracing(config);
  const httpLogger = new NestLogger('http');
  // Every answer, errors, 404s and CORS preflights included, carries its request id, the security headers of its
  // route and, with a rate limit set, the uncounted policy (the access stage puts the caller's count in its place).
  const limitHeaders = uncountedRateLimitHeaders(config.RATE_LIMIT_PER_S);
  const apiHeaders = { ...securityHeadersOf(API_SECURITY), ...limitHeaders };
  const documentHeaders = { ...securityHeadersOf(DOCUMENT_SECURITY), ...limitHeaders };
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    genReqId: requestId,
    logger: false,
    // Off: fastify's own 503 is not problem+json; a request hook answers SHUTTING_DOWN instead.
    return503OnClosing: false,
    // The service has no Nest middleware: without middie, none of its hooks runs on every request.
    skipMiddie: true,
    // Errors fastify raises before routing (bad percent-encoding, over-long parameters) get problem+json too.
    frameworkErrors: (err: Error, req: FastifyRequest, reply: FastifyReply) => sendProblem(err, req, reply.headers(apiHeaders), httpLogger),
  });
  // bodyParser: false keeps Nest from registering a form-urlencoded parser: this API takes JSON only.
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  const metrics = app.get(MetricsService);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('text/plain');
  installJsonBodyParser(fastify);
  // Before CORS, whose hook answers preflights itself.
  fastify.addHook('onRequest', (req, reply, done) => {
    reply.header('X-Request-Id', req.id);
    reply.headers(isDocsRoute(req.routeOptions.url) ? documentHeaders : apiHeaders);
    done();
  });
  // Without allowed origins there is nothing to answer a browser's preflight with, and no hook to run per request.
  // Registered on fastify, not through app.enableCors: Nest's wrapper copies the headers again on every request.
  // Awaited here, so that its hook runs before the access stage's and a 401 or 403 carries the CORS headers too.
  if (config.CORS_ORIGINS.length > 0) {
    await fastify.register(fastifyCors, {
      origin: config.CORS_ORIGINS,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: CORS_HEADERS,
      exposedHeaders: EXPOSED_HEADERS,
      maxAge: 600,
    });
  }
  // The request's scope: every stage after runs in it (its id for upstream calls, its span).
  installRequestHooks(fastify, tracing);

  const lifecycle = app.get(LifecycleService);
  // After CORS, so that a browser can read the 503.
  fastify.addHook('onRequest', (req, reply, done) => {
    // Liveness is 200 while the process runs (API.md), shutting down included: only work is refused.
    if (!lifecycle.closing || req.routeOptions.url === LIVE_ROUTE) return done();
    reply.header('Connection', 'close');
    done(new AppException(ErrorCode.ShuttingDown, 'This instance is shutting down: send the request again (to another instance)', { retryAfterS: 1 }));
  });
  installBodyLimitAnswer(fastify, config.BODY_LIMIT_BYTES);
  // The request pipeline's stages, in order: access (401, 403, 429) before the body is read, then the path ids (400).
  fastify.addHook('onRoute', (route) => assertRouteHasAccess(route, isDocsRoute));
  fastify.addHook('onRequest', accessHook(app.get(AuthService), app.get(RateLimitService)));
  fastify.addHook('preValidation', (req, _reply, done) => {
    if (accessOf(req) !== undefined) validateIdParams(req.params as Record<string, string | undefined>);
    done();
  });
  installCompression(fastify);
  const logger = app.get(Logger);
  const accessLog = logInfoEnabled(config.LOG_LEVEL);
  // Metrics and the access log of each answer (one line per request, no headers, no query string, no full key).
  fastify.addHook('onResponse', (req, reply, done) => {
    const ms = reply.elapsedTime;
    metrics.observeRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, ms / 1000);
    if (accessLog) {
      const id = String(req.id);
      // The answer itself as `res`: pino-http's serializer reads a status only from a response whose headers are sent.
      // Nest's second argument is the context, so the message goes in the object.
      logger.log(
        { msg: 'request completed', requestId: id, req: { id, method: req.method, url: loggedPath(req.url) }, res: reply.raw, responseTime: Math.round(ms) },
        'http',
      );
    }
    done();
  });

  const doc = new DocumentBuilder()
    .setTitle('asset-bff')
    .setDescription('Which EnOS assets can this user (or these 50,000 users) access? Errors are application/problem+json.')
    .setVersion('1.0')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }, 'apiKey')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
    .build();
  SwaggerModule.setup(DOCS_PATH.slice(1), app, () => finishApiDocument(SwaggerModule.createDocument(app, doc)), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
  });
  await app.init();
  return app;
}

const logInfoEnabled = (level: string): boolean => ['info', 'debug', 'trace'].includes(level);

async function bootstrap(): Promise<void> {
  for (const flag of v8FlagsToSet(process.execArgv)) setFlagsFromString(flag);
  const config = configOrExit();
  const app = await createApp(config);
  const lifecycle = app.get(LifecycleService);
  const logger = app.get(Logger);
  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    lifecycle.state = 'draining';
    logger.log(`${signal}: draining (readiness 503), then closing after in-flight requests finish`);
    await sleep(config.SHUTDOWN_DRAIN_MS);
    const server = app.getHttpServer();
    // A process that cannot finish its requests in time still exits (and says so by its exit code).
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    // Keep-alive connections that finish their last request while closing are closed too, not waited for.
    const sweeper = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    // The HTTP server first: in-flight requests finish while the portal client and the cache are still up
    // (Nest's close would destroy the portal client's sockets under them).
    lifecycle.closing = true;
    await app.getHttpAdapter().getInstance().close();
    clearInterval(sweeper);
    await Promise.race([app.close(), sleep(SHUTDOWN_TIMEOUT_MS)]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ port: config.PORT, host: config.HOST });
  lifecycle.state = 'ready';
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const driver = app.get(AssetSetCache).driver;
  const cache =
    driver === 'memory' ? 'in-process LRU (no REDIS_URL or REDIS_CLUSTER_NODES set; single instance only)' : driver === 'cluster' ? 'Redis Cluster' : 'Redis';
  logger.log(`cache: ${cache}`);
  process.stdout.write(`asset-bff listening on http://${config.HOST}:${port} (cache: ${cache})\n`);
}

if (require.main === module) void bootstrap();
