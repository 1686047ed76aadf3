import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDateString,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  NotEquals,
  registerDecorator,
} from 'class-validator';
import { IntField, NameField, Nested, Optional, Trim } from '../../../core/http/dto-fields.js';
import { PageQuery, toInt } from '../../../core/http/pagination.js';
import type { Meter } from '../entities/meter.entity.js';
import { PERIODS, type Period, type Plan, QUOTA_SCOPES, type QuotaScope } from '../entities/plan.entity.js';
import type { Reservation } from '../entities/usage.entity.js';
import type { LedgerEntry } from '../entities/wallet.entity.js';
import { METER_CODE } from '../../../core/identity/lifecycle-hooks.js';

/** Integer micros up to a billion currency units: far above any real amount, far below 2^53. */
export const MAX_MICROS = 1_000_000_000_000_000;
/** Quantities up to a trillion per use. */
export const MAX_QUANTITY = 1_000_000_000_000;
/** The largest `metadata` of a use, as JSON. */
export const MAX_METADATA_BYTES = 4096;

const KEY = /^[\x21-\x7e]{1,200}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Free-form metadata: a JSON object of at most 4 KB. */
function SmallJsonObject(): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'smallJsonObject',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: `${String(propertyName)} must be an object of at most 4096 bytes as JSON` },
      validator: {
        validate: (value: unknown) =>
          value !== null &&
          typeof value === 'object' &&
          !Array.isArray(value) &&
          Buffer.byteLength(JSON.stringify(value)) <= MAX_METADATA_BYTES,
      },
    });
}

/** The model and provider a use was made with, and its free-form metadata: the same on commits and events. */
const ModelField = () =>
  applyDecorators(ApiPropertyOptional({ maxLength: 200 }), Optional(), IsString(), MaxLength(200));
const ProviderField = () =>
  applyDecorators(ApiPropertyOptional({ maxLength: 100 }), Optional(), IsString(), MaxLength(100));
const MetadataField = () =>
  applyDecorators(
    ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'At most 4 KB of JSON' }),
    Optional(),
    IsObject(),
    SmallJsonObject(),
  );

/** A calendar day (UTC) that exists: 2026-02-30 is refused. */
function CalendarDay() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'calendarDay',
      target: target.constructor,
      propertyName,
      options: { message: `${propertyName} must be a day as YYYY-MM-DD` },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          DAY.test(value) &&
          !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) &&
          new Date(`${value}T00:00:00Z`).toISOString().startsWith(value),
      },
    });
}

const MeterCodeField = () =>
  applyDecorators(
    ApiProperty({ example: 'images', description: 'A meter code' }),
    IsString(),
    MaxLength(64),
    Matches(METER_CODE, { message: 'meter must be lower-case letters, digits, _ and .' }),
  );

// ---- meters ----------------------------------------------------------------

export class CreateMeterDto {
  @ApiProperty({ example: 'stories', description: 'Lower-case letters, digits, `_` and `.`' })
  @IsString()
  @MaxLength(64)
  @Matches(METER_CODE, { message: 'code must be lower-case letters, digits, _ and ., starting with a letter' })
  code: string;

  @NameField({ example: 'Stories generated' })
  name: string;

  @ApiProperty({ example: 'story' })
  @Trim()
  @IsString()
  @MinLength(1)
  @MaxLength(32)
  unit: string;
}

export class UpdateMeterDto {
  @NameField({ optional: true, example: 'Stories generated' })
  name?: string;

  @ApiPropertyOptional({ example: 'story' })
  @Optional()
  @Trim()
  @IsString()
  @MinLength(1)
  @MaxLength(32)
  unit?: string;
}

export class MeterDto {
  @ApiProperty() code: string;
  @ApiProperty() name: string;
  @ApiProperty() unit: string;
  @ApiProperty({ description: 'Built-in meters come with the platform' }) builtIn: boolean;
  @ApiProperty() createdAt: string;

  static from(meter: Meter): MeterDto {
    return {
      code: meter.code,
      name: meter.name,
      unit: meter.unit,
      builtIn: meter.builtIn,
      createdAt: meter.createdAt.toISOString(),
    };
  }
}

// ---- plans -----------------------------------------------------------------

export class PlanRateLimitsDto {
  @IntField({ min: 1, max: 1_000_000, optional: true, description: 'Per user or API key, on metered routes' })
  requestsPerMinute?: number;

  @IntField({ min: 1, max: 10_000_000, optional: true, description: 'For the whole tenant, on metered routes' })
  tenantRequestsPerMinute?: number;
}

export class PlanQuotaDto {
  @MeterCodeField()
  meter: string;

  @IntField({ min: 0, max: MAX_QUANTITY })
  limit: number;

  @ApiProperty({ enum: PERIODS })
  @IsIn(PERIODS)
  period: Period;

  @ApiProperty({ enum: QUOTA_SCOPES, description: 'tenant: shared by the whole tenant; user: for each user' })
  @IsIn(QUOTA_SCOPES)
  scope: QuotaScope;
}

export class PlanChargeDto {
  @MeterCodeField()
  meter: string;

  @IntField({ min: 0, max: MAX_MICROS, description: 'Micros per unit of the meter' })
  unitPriceMicros: number;

  @IntField({ min: 0, max: MAX_QUANTITY, description: 'Units per billing period before charging' })
  includedQuantity: number;
}

/** The routing tier the generation gateway uses. */
const TierField = ({ optional }: { optional: boolean }) =>
  applyDecorators(
    (optional ? ApiPropertyOptional : ApiProperty)({
      example: 'pro',
      description: 'Routing tier the generation gateway uses',
    }),
    ...(optional ? [Optional()] : []),
    Matches(/^[a-z0-9_-]{1,32}$/, { message: 'tier must be 1..32 lower-case letters, digits, _ or -' }),
  );

/**
 * The fields a plan is created and updated with. `name` and `tier` are declared
 * in each subclass: class-validator keeps an inherited Optional() whatever a
 * subclass adds, so a required field cannot be made so by re-declaring it.
 */
class PlanFields {
  @IntField({ min: 0, max: MAX_MICROS, optional: true, description: 'Price per interval, in micros' })
  priceMicros?: number;

  @ApiPropertyOptional({ example: 'USD', description: 'ISO 4217 code' })
  @Optional()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be a three-letter ISO 4217 code' })
  currency?: string;

  @ApiPropertyOptional({ enum: ['month', 'year'] })
  @Optional()
  @IsIn(['month', 'year'])
  interval?: 'month' | 'year';

  @ApiPropertyOptional({
    enum: ['prepaid', 'postpaid'],
    description: 'prepaid: every metered cost must be covered by the wallet; postpaid: cost accrues on the statement',
  })
  @Optional()
  @IsIn(['prepaid', 'postpaid'])
  billingMode?: 'prepaid' | 'postpaid';

  @IntField({ min: 0, max: MAX_MICROS, optional: true, description: 'Credits granted at each period start' })
  includedCreditsMicros?: number;

  @ApiPropertyOptional({ type: PlanRateLimitsDto })
  @Optional()
  @Nested(() => PlanRateLimitsDto)
  rateLimits?: PlanRateLimitsDto;

  @ApiPropertyOptional({ type: [PlanQuotaDto], maxItems: 100 })
  @Optional()
  @IsArray()
  @ArrayMaxSize(100)
  @Nested(() => PlanQuotaDto, { each: true })
  quotas?: PlanQuotaDto[];

  @ApiPropertyOptional({ type: [PlanChargeDto], maxItems: 100 })
  @Optional()
  @IsArray()
  @ArrayMaxSize(100)
  @Nested(() => PlanChargeDto, { each: true })
  charges?: PlanChargeDto[];
}

export class CreatePlanDto extends PlanFields {
  @ApiProperty({ example: 'team' })
  @Matches(/^[a-z][a-z0-9_-]{0,63}$/, { message: 'code must be lower-case letters, digits, _ or -' })
  code: string;

  @NameField({ example: 'Team' })
  name: string;

  @TierField({ optional: false })
  tier: string;
}

export class UpdatePlanDto extends PlanFields {
  @NameField({ optional: true, example: 'Pro' })
  name?: string;

  @TierField({ optional: true })
  tier?: string;
}

export class ListPlansQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'], description: 'Super admins: archived plans too' })
  @Optional()
  @IsIn(['true', 'false'])
  all?: 'true' | 'false';
}

export class PlanDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() code: string;
  @ApiProperty() name: string;
  @ApiProperty() priceMicros: number;
  @ApiProperty() currency: string;
  @ApiProperty({ enum: ['month', 'year'] }) interval: string;
  @ApiProperty() tier: string;
  @ApiProperty({ enum: ['prepaid', 'postpaid'] }) billingMode: string;
  @ApiProperty() includedCreditsMicros: number;
  @ApiProperty({ type: PlanRateLimitsDto }) rateLimits: PlanRateLimitsDto;
  @ApiProperty({ type: [PlanQuotaDto] }) quotas: PlanQuotaDto[];
  @ApiProperty({ type: [PlanChargeDto] }) charges: PlanChargeDto[];
  @ApiProperty({ enum: ['active', 'archived'] }) status: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;

  static from(plan: Plan): PlanDto {
    return {
      id: plan.id,
      code: plan.code,
      name: plan.name,
      priceMicros: plan.priceMicros,
      currency: plan.currency,
      interval: plan.interval,
      tier: plan.tier,
      billingMode: plan.billingMode,
      includedCreditsMicros: plan.includedCreditsMicros,
      rateLimits: plan.rateLimits,
      quotas: plan.quotas,
      charges: plan.charges,
      status: plan.status,
      createdAt: plan.createdAt.toISOString(),
      updatedAt: plan.updatedAt.toISOString(),
    };
  }
}

// ---- subscriptions and quotas ------------------------------------------------

export class PutSubscriptionDto {
  @ApiProperty({ example: 'pro' })
  @Matches(/^[a-z][a-z0-9_-]{0,63}$/, { message: 'planCode must be a plan code' })
  planCode: string;

  @IntField({ min: 1, max: 28, optional: true, default: 1, description: 'Billing periods start on this day' })
  anchorDay?: number;
}

export class PeriodDto {
  @ApiProperty() start: string;
  @ApiProperty() end: string;
}

export class SubscriptionDto {
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty({ type: PlanDto }) plan: PlanDto;
  @ApiProperty() anchorDay: number;
  @ApiProperty({ type: PeriodDto }) currentPeriod: PeriodDto;
}

export class QuotaSettingDto {
  @MeterCodeField()
  meter: string;

  @ApiProperty({ enum: PERIODS })
  @IsIn(PERIODS)
  period: Period;

  @IntField({ min: 0, max: MAX_QUANTITY })
  limit: number;
}

export class PutQuotaSettingsDto {
  @ApiProperty({ type: [QuotaSettingDto], maxItems: 100 })
  @IsArray()
  @ArrayMaxSize(100)
  @Nested(() => QuotaSettingDto, { each: true })
  quotas: QuotaSettingDto[];
}

export class QuotaSettingsDto {
  @ApiProperty({ type: [QuotaSettingDto] }) quotas: QuotaSettingDto[];
}

export class QuotaStatusDto {
  @ApiProperty() meter: string;
  @ApiProperty({ enum: QUOTA_SCOPES }) scope: string;
  @ApiProperty({ enum: PERIODS }) period: string;
  @ApiProperty() limit: number;
  @ApiProperty({ description: 'Committed in the current window' }) used: number;
  @ApiProperty({ description: 'Held by open reservations' }) reserved: number;
  @ApiProperty() remaining: number;
  @ApiProperty() resetsAt: string;
}

export class UsageQuotasQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'Tenant admins: another user of the tenant' })
  @Optional()
  @IsUUID()
  userId?: string;
}

// ---- credits -----------------------------------------------------------------

export class CreditsDto {
  @ApiProperty() balanceMicros: number;
  @ApiProperty({ description: 'Held by open reservations' }) reservedMicros: number;
  @ApiProperty({ description: 'balance − holds − shortfall' }) availableMicros: number;
  @ApiProperty({ description: 'Cost that could not be covered; blocks new reservations until paid' })
  shortfallMicros: number;
}

export class LedgerEntryDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['grant', 'adjustment', 'included', 'debit'] }) kind: string;
  @ApiProperty() amountMicros: number;
  @ApiProperty() balanceAfterMicros: number;
  @ApiProperty() reason: string;
  @ApiPropertyOptional({ nullable: true, type: String }) reference: string | null;
  @ApiProperty() createdAt: string;

  static from(entry: LedgerEntry): LedgerEntryDto {
    return {
      id: entry.id,
      kind: entry.kind,
      amountMicros: entry.amountMicros,
      balanceAfterMicros: entry.balanceAfterMicros,
      reason: entry.reason,
      reference: entry.reference,
      createdAt: entry.createdAt.toISOString(),
    };
  }
}

export class LedgerPageDto {
  @ApiProperty({ type: [LedgerEntryDto] }) items: LedgerEntryDto[];
  @ApiProperty() total: number;
  @ApiProperty() limit: number;
  @ApiProperty() offset: number;
}

export class LedgerQuery extends PageQuery {}

class CreditChangeDto {
  @ApiProperty({ example: 'Top-up invoice 2026-0042' })
  @Trim()
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason: string;

  @ApiProperty({ example: 'invoice-2026-0042', description: 'The same key twice makes one entry' })
  @Matches(KEY, { message: 'idempotencyKey must be 1..200 printable characters without spaces' })
  idempotencyKey: string;
}

export class GrantDto extends CreditChangeDto {
  @IntField({ min: 1, max: MAX_MICROS })
  amountMicros: number;
}

export class AdjustmentDto extends CreditChangeDto {
  @ApiProperty({ minimum: -MAX_MICROS, maximum: MAX_MICROS, description: 'May be negative; never below zero' })
  @IsInt()
  @NotEquals(0)
  @Min(-MAX_MICROS)
  @Max(MAX_MICROS)
  amountMicros: number;
}

export class CreditChangeResultDto {
  @ApiProperty({ description: 'False when the idempotency key had been used: nothing new was written' })
  created: boolean;
  @ApiProperty({ type: [LedgerEntryDto] }) entries: LedgerEntryDto[];
  @ApiProperty({ type: CreditsDto }) credits: CreditsDto;
}

// ---- reservations and events ---------------------------------------------------

export class ReserveDto {
  @MeterCodeField()
  meter: string;

  @IntField({ min: 1, max: MAX_QUANTITY })
  quantity: number;

  @ApiPropertyOptional({ format: 'uuid', description: 'Tenant admins and the tenant app: whose usage it is' })
  @Optional()
  @IsUUID()
  userId?: string;

  @IntField({ min: 0, max: MAX_MICROS, optional: true, description: 'Held in the wallet (prepaid plans)' })
  estimatedCostMicros?: number;

  @IntField({ min: 1, max: 3600, optional: true, default: 300 })
  ttlSeconds?: number;

  @ApiProperty({ description: 'The same key twice answers with the same reservation' })
  @Matches(KEY, { message: 'idempotencyKey must be 1..200 printable characters without spaces' })
  idempotencyKey: string;
}

export class ReservationDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() meter: string;
  @ApiProperty() quantity: number;
  @ApiPropertyOptional({ format: 'uuid', nullable: true, type: String }) userId: string | null;
  @ApiProperty() estimatedCostMicros: number;
  @ApiProperty({ enum: ['held', 'committed', 'released', 'expired'] }) status: string;
  @ApiProperty() expiresAt: string;
  @ApiProperty() createdAt: string;
  @ApiPropertyOptional({ nullable: true, type: String }) settledAt: string | null;

  static from(r: Reservation): ReservationDto {
    return {
      id: r.id,
      meter: r.meter,
      quantity: r.quantity,
      userId: r.userId,
      estimatedCostMicros: r.estimatedCostMicros,
      status: r.status,
      expiresAt: r.expiresAt.toISOString(),
      createdAt: r.createdAt.toISOString(),
      settledAt: r.settledAt?.toISOString() ?? null,
    };
  }
}

export class CommitDto {
  @IntField({ min: 0, max: MAX_QUANTITY, optional: true, description: 'The actual quantity; at most the reserved one' })
  quantity?: number;

  @IntField({ min: 0, max: MAX_MICROS, optional: true, description: 'The actual cost (default: the estimate)' })
  costMicros?: number;

  @ModelField()
  model?: string;

  @ProviderField()
  provider?: string;

  @MetadataField()
  metadata?: Record<string, unknown>;
}

export class CommittedDto {
  @ApiProperty({ type: ReservationDto }) reservation: ReservationDto;
  @ApiProperty() quantity: number;
  @ApiProperty() costMicros: number;
  @ApiProperty({ description: 'Taken from the balance' }) debitedMicros: number;
  @ApiProperty({ description: 'What the balance could not cover (now owed)' }) shortfallMicros: number;
}

export class UsageEventInputDto {
  @ApiProperty({ description: 'Your id for the event: the same id twice counts once' })
  @Matches(KEY, { message: 'id must be 1..200 printable characters without spaces' })
  id: string;

  @MeterCodeField()
  meter: string;

  @IntField({ min: 0, max: MAX_QUANTITY })
  quantity: number;

  @ApiPropertyOptional({ format: 'uuid' })
  @Optional()
  @IsUUID()
  userId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'When it happened (default: now); at most 35 days ago' })
  @Optional()
  @IsDateString({ strict: true })
  timestamp?: string;

  @ModelField()
  model?: string;

  @ProviderField()
  provider?: string;

  @IntField({ min: 0, max: MAX_MICROS, optional: true })
  costMicros?: number;

  @MetadataField()
  metadata?: Record<string, unknown>;
}

/**
 * The JSON schema of POST /usage/events, checked by Fastify (ajv) before the handler: a batch of a
 * thousand events is validated in well under a millisecond, where the DTO classes would take tens.
 * It states exactly what the classes below state (they describe the route in Swagger).
 */
export const USAGE_EVENTS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['events'],
  properties: {
    events: {
      type: 'array',
      minItems: 1,
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'meter', 'quantity'],
        properties: {
          id: { type: 'string', pattern: KEY.source },
          meter: { type: 'string', maxLength: 64, pattern: METER_CODE.source },
          quantity: { type: 'integer', minimum: 0, maximum: MAX_QUANTITY },
          userId: { type: 'string', format: 'uuid' },
          timestamp: { type: 'string', format: 'date-time' },
          model: { type: 'string', maxLength: 200 },
          provider: { type: 'string', maxLength: 100 },
          costMicros: { type: 'integer', minimum: 0, maximum: MAX_MICROS },
          metadata: { type: 'object', maxJsonBytes: MAX_METADATA_BYTES },
        },
      },
    },
  },
} as const;

export class PostUsageEventsDto {
  @ApiProperty({ type: [UsageEventInputDto], minItems: 1, maxItems: 1000 })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @Nested(() => UsageEventInputDto, { each: true })
  events: UsageEventInputDto[];
}

export class UsageEventResultDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['accepted', 'duplicate', 'error'] }) result: string;
  @ApiPropertyOptional({ example: 'QUOTA_EXCEEDED' }) code?: string;
  @ApiPropertyOptional() reason?: string;
}

export class UsageEventsResultDto {
  @ApiProperty({ type: [UsageEventResultDto] }) results: UsageEventResultDto[];
  @ApiProperty() accepted: number;
  @ApiProperty() duplicates: number;
  @ApiProperty() errors: number;
}

// ---- reports -------------------------------------------------------------------

class RangeQuery {
  @ApiPropertyOptional({ example: '2026-11-01', description: 'First day (UTC), default 29 days before `to`' })
  @Optional()
  @CalendarDay()
  from?: string;

  @ApiPropertyOptional({ example: '2026-11-30', description: 'Last day (UTC), default today' })
  @Optional()
  @CalendarDay()
  to?: string;
}

export const SUMMARY_GROUPS = ['day', 'meter', 'model', 'provider', 'user', 'apiKey'] as const;
export const COST_GROUPS = ['provider', 'model', 'meter', 'user'] as const;
export const PLATFORM_GROUPS = ['tenant', 'plan', 'meter', 'model', 'provider', 'day'] as const;

export class UsageSummaryQuery extends RangeQuery {
  @ApiPropertyOptional({ enum: SUMMARY_GROUPS, default: 'day' })
  @Optional()
  @IsIn(SUMMARY_GROUPS)
  groupBy?: (typeof SUMMARY_GROUPS)[number];

  @ApiPropertyOptional({ example: 'images' })
  @Optional()
  @Matches(METER_CODE)
  @MaxLength(64)
  meter?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'Tenant-wide readers: one user only' })
  @Optional()
  @IsUUID()
  userId?: string;
}

export class LeaderboardQuery extends RangeQuery {
  @ApiProperty({ example: 'images' })
  @Matches(METER_CODE)
  @MaxLength(64)
  meter: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 10 })
  @Optional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

export class CostsQuery extends RangeQuery {
  @ApiPropertyOptional({ enum: COST_GROUPS, default: 'provider' })
  @Optional()
  @IsIn(COST_GROUPS)
  groupBy?: (typeof COST_GROUPS)[number];
}

export class PlatformSummaryQuery extends RangeQuery {
  @ApiPropertyOptional({ enum: PLATFORM_GROUPS, default: 'tenant' })
  @Optional()
  @IsIn(PLATFORM_GROUPS)
  groupBy?: (typeof PLATFORM_GROUPS)[number];

  @ApiPropertyOptional({ example: 'images' })
  @Optional()
  @Matches(METER_CODE)
  @MaxLength(64)
  meter?: string;
}

export class PlatformLeaderboardQuery extends LeaderboardQuery {}

export class UsageRowDto {
  @ApiProperty({ description: 'The group: a day, meter, model, provider, user id, key id, tenant id or plan' })
  key: string;
  @ApiProperty() quantity: number;
  @ApiProperty() costMicros: number;
  @ApiProperty() events: number;
}

export class UsageReportDto {
  @ApiProperty() from: string;
  @ApiProperty() to: string;
  @ApiProperty() groupBy: string;
  @ApiProperty({ type: [UsageRowDto] }) rows: UsageRowDto[];
}

export class StatementQuery {
  @ApiPropertyOptional({ enum: ['current', 'previous'], default: 'current' })
  @Optional()
  @IsIn(['current', 'previous'])
  period?: 'current' | 'previous';
}

export class StatementLineDto {
  @ApiProperty() meter: string;
  @ApiProperty() quantity: number;
  @ApiProperty() includedQuantity: number;
  @ApiProperty() billableQuantity: number;
  @ApiProperty() unitPriceMicros: number;
  @ApiProperty() amountMicros: number;
}

export class StatementDto {
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty() planCode: string;
  @ApiProperty() currency: string;
  @ApiProperty({ type: PeriodDto }) period: PeriodDto;
  @ApiProperty() planFeeMicros: number;
  @ApiProperty({ type: [StatementLineDto] }) lines: StatementLineDto[];
  @ApiProperty({ description: 'Grants, included credits and positive adjustments in the period' })
  creditsGrantedMicros: number;
  @ApiProperty({ description: 'Credits debited in the period' }) creditsUsedMicros: number;
  @ApiProperty({ description: 'Plan fee plus the charges' }) totalMicros: number;
}
