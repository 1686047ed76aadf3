import { type DynamicModule, Module, type Type } from '@nestjs/common';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import type { DatabaseOverrides } from './database/database-options.js';
import { CoreModule } from './core/core.module.js';
import type { Clock } from './core/ports/clock.js';
import { ClockModule } from './core/ports/clock.module.js';
import { ApiKeysModule } from './modules/api-keys/api-keys.module.js';
import { AuthModule } from './modules/auth/auth.module.js';
import { BillingModule } from './modules/billing/billing.module.js';
import { GatewayModule } from './modules/gateway/gateway.module.js';
import { KnowledgeModule } from './modules/knowledge/knowledge.module.js';
import { HealthModule } from './modules/health/health.module.js';
import { MetricsModule } from './modules/metrics/metrics.module.js';
import { TenantsModule } from './modules/tenants/tenants.module.js';
import { UsersModule } from './modules/users/users.module.js';

export interface AppModuleOptions {
  config: AppConfig;
  database?: DatabaseOverrides;
  /** Additional modules mounted beside the product's own (used by tests to exercise the HTTP pipeline). */
  extraModules?: Type[];
  /** The clock every window, expiry and period is computed with (tests move time with their own). */
  clock?: Clock;
}

@Module({})
export class AppModule {
  static forRoot({ config, database, extraModules = [], clock }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(clock),
        DatabaseModule.forRoot(config, database),
        CoreModule,
        MetricsModule,
        HealthModule,
        AuthModule,
        TenantsModule,
        UsersModule,
        ApiKeysModule,
        BillingModule,
        GatewayModule,
        KnowledgeModule,
        ...extraModules,
      ],
    };
  }
}
