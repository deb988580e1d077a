import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { CallRecorder } from './calls/call-recorder.service';
import { PortalCallInterceptor } from './calls/portal-call.interceptor';
import { SimControl } from './calls/sim-control.service';
import { SIM_CONFIG, SimConfig } from './config/sim-config';
import { SimStore } from './data/sim-store.service';
import { AppTokenService } from './gateway/app-token.service';
import { UserTokenService } from './login/user-token.service';

/** The simulator's shared state: configuration, data, runtime switches, counters and the two token services. */
@Global()
@Module({})
export class CoreModule {
  static forConfig(config: SimConfig) {
    const providers = [SimStore, SimControl, CallRecorder, AppTokenService, UserTokenService];
    return {
      module: CoreModule,
      providers: [{ provide: SIM_CONFIG, useValue: config }, ...providers, { provide: APP_INTERCEPTOR, useClass: PortalCallInterceptor }],
      exports: [SIM_CONFIG, ...providers],
    };
  }
}
