import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { ANSWER_WORKER_FILE, AnswerWorkers } from '@app/portal-client';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';

/**
 * The service's answer workers: PAGE_WORKERS threads that read asset/list and users/assetList answers (the portal
 * client's own readAnswer) off the main thread, so that hot reads are served while a large answer is parsed. With
 * none (PAGE_WORKERS=0, or no compiled worker) the client reads them on the main thread: `decoder` is then undefined.
 */
@Injectable()
export class PageDecoders extends AnswerWorkers implements OnModuleInit, OnModuleDestroy {
  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: MetricsService) {
    const found = existsSync(ANSWER_WORKER_FILE);
    super(found ? config.PAGE_WORKERS : 0, ANSWER_WORKER_FILE, { onChange: (n) => metrics.pageWorkers.set(n), onLost: () => metrics.pageWorkerLosses.inc() });
    if (!found && config.PAGE_WORKERS > 0)
      new Logger(PageDecoders.name).warn(`no compiled answer worker at ${ANSWER_WORKER_FILE}: answers are read on the main thread`);
  }

  onModuleInit(): void {
    this.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }
}
