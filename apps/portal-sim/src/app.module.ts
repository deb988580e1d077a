import { DynamicModule, Module } from '@nestjs/common';
import { AdminModule } from './admin/admin.module';
import { AssetsModule } from './assets/assets.module';
import { SimConfig } from './config/sim-config';
import { CoreModule } from './core.module';
import { GatewayModule } from './gateway/gateway.module';
import { LoginModule } from './login/login.module';
import { TreeModule } from './tree/tree.module';

@Module({})
export class AppModule {
  static forConfig(config: SimConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forConfig(config), GatewayModule, AssetsModule, TreeModule, LoginModule, AdminModule],
    };
  }
}
