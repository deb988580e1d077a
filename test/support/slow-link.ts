import { createConnection, createServer, Server, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './ports';

/** Requests to hold on their way to the server: a chunk whose text matches `pattern` waits `ms`, and so does all after it. */
export interface HeldRequests {
  pattern: RegExp;
  ms: number;
}

/**
 * A TCP relay to a real server that delays everything the server sends back by `delayMs` (order kept):
 * a slow network or a client too busy to read its replies, as another instance of the service sees it.
 * With `hold`, matching requests reach the server late (order kept): a server that stalls on one command.
 */
export class SlowLink {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly delayMs: number,
    private readonly hold?: HeldRequests,
  ) {}

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((client) => {
      const upstream = createConnection(this.target);
      this.sockets.add(client).add(upstream);
      let sent = Promise.resolve();
      client.on('data', (d: Buffer) => {
        const wait = this.hold?.pattern.test(d.toString('latin1')) ? this.hold.ms : 0;
        sent = sent.then(async () => {
          if (wait > 0) await sleep(wait);
          if (!upstream.destroyed) upstream.write(d);
        });
      });
      upstream.on('data', (d) => {
        setTimeout(() => {
          if (!client.destroyed) client.write(d);
        }, this.delayMs);
      });
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
