import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { LifecycleService } from './health/lifecycle.service';
import { MetricsService } from './metrics/metrics.service';

/** Process-wide singletons every module may inject: the validated configuration, metrics, lifecycle state. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreModule,
      providers: [{ provide: APP_CONFIG, useValue: config }, MetricsService, LifecycleService],
      exports: [APP_CONFIG, MetricsService, LifecycleService],
    };
  }
}
