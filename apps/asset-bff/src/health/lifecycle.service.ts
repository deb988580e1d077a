import { Injectable } from '@nestjs/common';

/** Whether the service takes traffic: 'starting' until it listens, 'draining' after SIGTERM. */
@Injectable()
export class LifecycleService {
  state: 'starting' | 'ready' | 'draining' = 'starting';
}
