import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BillingPlatformRepository } from './billing-platform.repository.js';
import { CatalogController } from './catalog.controller.js';
import { MetersRepository, PlansRepository } from './catalog.repository.js';
import { CatalogService } from './catalog.service.js';
import { CreditsService } from './credits.service.js';
import { Meter } from './entities/meter.entity.js';
import { Plan } from './entities/plan.entity.js';
import { QuotaDefault, UserQuota } from './entities/quota-setting.entity.js';
import { Subscription } from './entities/subscription.entity.js';
import { QuotaCounter, Reservation, UsageDaily, UsageEvent } from './entities/usage.entity.js';
import { LedgerEntry, Wallet } from './entities/wallet.entity.js';
import { QuotaCountersRepository, ReservationsRepository } from './metering.repository.js';
import { MeteringService } from './metering.service.js';
import { PlanCache } from './plan-cache.js';
import { QuotaPolicy } from './quota-policy.service.js';
import { RateLimitInterceptor } from './rate-limit.interceptor.js';
import { ReportsService } from './reports.service.js';
import { QuotaDefaultsRepository, SubscriptionsRepository, UserQuotasRepository } from './subscriptions.repository.js';
import { SubscriptionsService } from './subscriptions.service.js';
import { TenantBillingController, UserQuotasController } from './tenant-billing.controller.js';
import { PlatformUsageController, UsageController } from './usage.controller.js';
import { UsageDailyRepository, UsageRepository } from './usage.repository.js';
import { LedgerRepository, WalletRepository } from './wallet.repository.js';

/**
 * Billing and metering: meters and plans, subscriptions, quotas, rate limits,
 * the credit wallet, reservations, usage events and reports. The generation
 * gateway meters its calls through MeteringService.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([
      Meter,
      Plan,
      Subscription,
      QuotaDefault,
      UserQuota,
      Wallet,
      LedgerEntry,
      QuotaCounter,
      Reservation,
      UsageEvent,
      UsageDaily,
    ]),
  ],
  controllers: [
    CatalogController,
    TenantBillingController,
    UserQuotasController,
    UsageController,
    PlatformUsageController,
  ],
  providers: [
    MetersRepository,
    PlansRepository,
    SubscriptionsRepository,
    QuotaDefaultsRepository,
    UserQuotasRepository,
    WalletRepository,
    LedgerRepository,
    QuotaCountersRepository,
    ReservationsRepository,
    UsageRepository,
    UsageDailyRepository,
    BillingPlatformRepository,
    PlanCache,
    QuotaPolicy,
    CatalogService,
    SubscriptionsService,
    CreditsService,
    MeteringService,
    ReportsService,
    RateLimitInterceptor,
  ],
  exports: [MeteringService, PlanCache, RateLimitInterceptor],
})
export class BillingModule {}
