import { Injectable } from '@nestjs/common';

/** Whether the service takes traffic: 'starting' until it listens, 'draining' after SIGTERM. */
@Injectable()
export class LifecycleService {
  state: 'starting' | 'ready' | 'draining' = 'starting';
  /** The HTTP server is closing: a request still arriving on an open connection gets 503 SHUTTING_DOWN. */
  closing = false;
}
