import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { CallRecorder } from './calls/call-recorder.service';
import { loadSimConfig } from './config/sim-config';

/** Largest request body (a 1000-user batch with long ids is far below). */
const BODY_LIMIT_BYTES = 10 * 1024 * 1024;

async function bootstrap(): Promise<void> {
  const config = loadSimConfig();
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forConfig(config),
    new FastifyAdapter({ logger: false, bodyLimit: BODY_LIMIT_BYTES, forceCloseConnections: true }),
    { rawBody: true, logger: ['error', 'warn'] },
  );
  const recorder = app.get(CallRecorder);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (req, reply, done) => {
      recorder.onArrival(req.raw, reply.raw);
      done();
    });
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  const addr = app.getHttpServer().address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  process.stdout.write(`portal-sim listening on http://${config.host}:${port} (profile ${config.profile})\n`);
}

bootstrap().catch((err: unknown) => {
  process.stderr.write(`portal-sim failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
