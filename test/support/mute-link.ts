import { createConnection, createServer, Server, Socket } from 'node:net';
import { freePort } from './ports';

/**
 * A TCP relay to a Redis that can silently drop what Redis sends to its subscribers: a pub/sub message lost on a
 * connection that stays open (a half-open link), which the subscriber cannot notice; or close the subscriber
 * connections alone. Commands pass untouched.
 */
export class MuteLink {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  /** The client sides of the subscriber connections. */
  private readonly subscribers = new Set<Socket>();
  private muted = false;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((client) => {
      const upstream = createConnection(this.target);
      this.sockets.add(client).add(upstream);
      let subscriber = false;
      client.on('data', (d: Buffer) => {
        // A connection that ever sent SUBSCRIBE is a subscriber (RESP carries the command name in plain text).
        if (!subscriber && /subscribe/i.test(d.toString('latin1'))) {
          subscriber = true;
          this.subscribers.add(client);
        }
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => {
        if (!(subscriber && this.muted)) client.write(d);
      });
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
        this.subscribers.delete(client);
      };
      client.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  /** Drops everything Redis sends to subscribers from now on (until `unmute`), keeping their connections open. */
  mute(): void {
    this.muted = true;
  }

  unmute(): void {
    this.muted = false;
  }

  /** Closes the subscriber connections (as a network blip would); the clients reconnect through the link. */
  dropSubscribers(): void {
    for (const s of this.subscribers) s.destroy();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
