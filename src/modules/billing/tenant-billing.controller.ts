import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { Authenticated } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import { pageOf } from '../../core/http/pagination.js';
import { ActsInTenant } from '../../core/identity/tenant-selection.js';
import { TenantScope } from '../../core/identity/tenant-scope.service.js';
import { CreditsService } from './credits.service.js';
import {
  AdjustmentDto,
  CreditChangeResultDto,
  CreditsDto,
  GrantDto,
  LedgerEntryDto,
  LedgerPageDto,
  LedgerQuery,
  PlanDto,
  PutQuotaSettingsDto,
  PutSubscriptionDto,
  QuotaSettingsDto,
  StatementDto,
  StatementQuery,
  SubscriptionDto,
} from './dto/billing.dto.js';
import { ReportsService } from './reports.service.js';
import { type SubscriptionView, SubscriptionsService } from './subscriptions.service.js';
import { isoSeconds } from './windows.js';

const id = new ParseUUIDPipe({ version: '4' });

const subscriptionDto = (tenantId: string, view: SubscriptionView): SubscriptionDto => ({
  tenantId,
  plan: PlanDto.from(view.plan),
  anchorDay: view.subscription.anchorDay,
  currentPeriod: { start: isoSeconds(view.period.start), end: isoSeconds(view.period.end) },
});

/** A tenant's subscription, quotas, credits and statements: that tenant's admins, and super admins. */
@ApiTags('billing')
@Controller('tenants/:id')
export class TenantBillingController {
  constructor(
    private readonly subscriptions: SubscriptionsService,
    private readonly credits: CreditsService,
    private readonly reports: ReportsService,
    private readonly scope: TenantScope,
  ) {}

  @Get('subscription')
  @Authenticated({ permission: Permission.BILLING_READ })
  @ApiOperation({ summary: "The tenant's plan and current billing period" })
  @ApiOkResponse({ type: SubscriptionDto })
  @ApiNotFoundResponse({ description: 'No such tenant (or not yours)' })
  async subscription(@Param('id', id) tenantId: string): Promise<SubscriptionDto> {
    return subscriptionDto(tenantId, await this.subscriptions.view(tenantId));
  }

  @Put('subscription')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Move the tenant to a plan (and billing anchor day); applies at once' })
  @ApiOkResponse({ type: SubscriptionDto })
  @ApiNotFoundResponse({ description: 'No such tenant or plan' })
  async subscribe(@Param('id', id) tenantId: string, @Body() body: PutSubscriptionDto): Promise<SubscriptionDto> {
    return subscriptionDto(tenantId, await this.subscriptions.subscribe(tenantId, body.planCode, body.anchorDay));
  }

  @Get('quota-defaults')
  @Authenticated({ permission: Permission.BILLING_READ })
  @ApiOperation({ summary: "The tenant's default quotas for each of its users" })
  @ApiOkResponse({ type: QuotaSettingsDto })
  async quotaDefaults(@Param('id', id) tenantId: string): Promise<QuotaSettingsDto> {
    return { quotas: await this.subscriptions.quotaDefaults(tenantId) };
  }

  @Put('quota-defaults')
  @Authenticated({ permission: Permission.BILLING_WRITE })
  @ApiOperation({ summary: "Replace the tenant's default user quotas (they can only tighten the plan's)" })
  @ApiOkResponse({ type: QuotaSettingsDto })
  @ApiUnprocessableEntityResponse({ description: 'UNKNOWN_METER' })
  async putQuotaDefaults(
    @Param('id', id) tenantId: string,
    @Body() body: PutQuotaSettingsDto,
  ): Promise<QuotaSettingsDto> {
    return { quotas: await this.subscriptions.putQuotaDefaults(tenantId, body.quotas) };
  }

  @Get('credits')
  @Authenticated({ permission: Permission.BILLING_READ })
  @ApiOperation({ summary: "The tenant's credit wallet: balance, holds of open reservations, available" })
  @ApiOkResponse({ type: CreditsDto })
  async getCredits(@Param('id', id) tenantId: string): Promise<CreditsDto> {
    return this.scope.inVisible(tenantId, () => this.credits.credits());
  }

  @Get('credits/ledger')
  @Authenticated({ permission: Permission.BILLING_READ })
  @ApiOperation({ summary: "The wallet's ledger, newest first: grants, adjustments, included credits, debits" })
  @ApiOkResponse({ type: LedgerPageDto })
  async ledger(@Param('id', id) tenantId: string, @Query() query: LedgerQuery): Promise<LedgerPageDto> {
    const { limit, offset } = pageOf(query);
    return this.scope.inVisible(tenantId, async () => {
      const [entries, total] = await this.credits.ledger(limit, offset);
      return { items: entries.map(LedgerEntryDto.from), total, limit, offset };
    });
  }

  @Post('credits/grants')
  @HttpCode(200)
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Add credits (once per idempotency key); pays any shortfall first' })
  @ApiOkResponse({ type: CreditChangeResultDto })
  async grant(@Param('id', id) tenantId: string, @Body() body: GrantDto): Promise<CreditChangeResultDto> {
    return this.change(tenantId, 'grant', body);
  }

  @Post('credits/adjustments')
  @HttpCode(200)
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Correct the balance up or down (once per idempotency key); never below zero' })
  @ApiOkResponse({ type: CreditChangeResultDto })
  async adjust(@Param('id', id) tenantId: string, @Body() body: AdjustmentDto): Promise<CreditChangeResultDto> {
    return this.change(tenantId, 'adjustment', body);
  }

  @Get('statements')
  @Authenticated({ permission: Permission.BILLING_READ })
  @ApiOperation({ summary: 'The statement of the current or previous billing period' })
  @ApiOkResponse({ type: StatementDto })
  statement(@Param('id', id) tenantId: string, @Query() query: StatementQuery): Promise<StatementDto> {
    return this.reports.statement(tenantId, query.period ?? 'current');
  }

  private async change(
    tenantId: string,
    kind: 'grant' | 'adjustment',
    body: GrantDto | AdjustmentDto,
  ): Promise<CreditChangeResultDto> {
    return this.scope.inVisible(tenantId, async () => {
      const entries = await this.credits.change(kind, body.amountMicros, body.reason, body.idempotencyKey);
      return {
        created: entries !== null,
        entries: (entries ?? []).map(LedgerEntryDto.from),
        credits: await this.credits.credits(),
      };
    });
  }
}

/** Users' own quotas (tenant admins; super admins name the tenant with ?tenantId=). */
@ApiTags('billing')
@ActsInTenant()
@Controller('users/:id/quotas')
export class UserQuotasController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @Get()
  @Authenticated({ permission: Permission.BILLING_READ })
  @ApiOperation({ summary: "A user's own quotas" })
  @ApiOkResponse({ type: QuotaSettingsDto })
  @ApiNotFoundResponse({ description: 'No such user in this tenant' })
  async get(@Param('id', id) userId: string): Promise<QuotaSettingsDto> {
    return { quotas: await this.subscriptions.userQuotasOf(userId) };
  }

  @Put()
  @Authenticated({ permission: Permission.BILLING_WRITE })
  @ApiOperation({ summary: "Replace a user's own quotas (they can only tighten the plan's)" })
  @ApiOkResponse({ type: QuotaSettingsDto })
  @ApiNotFoundResponse({ description: 'No such user in this tenant' })
  @ApiUnprocessableEntityResponse({ description: 'UNKNOWN_METER' })
  async put(@Param('id', id) userId: string, @Body() body: PutQuotaSettingsDto): Promise<QuotaSettingsDto> {
    return { quotas: await this.subscriptions.putUserQuotas(userId, body.quotas) };
  }
}
