import { Body, Controller, Get, HttpCode, Ip, Param, ParseUUIDPipe, Post, Query, Req } from '@nestjs/common';
import {
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPaymentRequiredResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { JsonSchemaPipe } from '../../core/http/json-schema.pipe.js';
import { ActsInTenant } from '../../core/identity/tenant-selection.js';
import { Authenticated } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import {
  CommitDto,
  CommittedDto,
  CostsQuery,
  LeaderboardQuery,
  PlatformLeaderboardQuery,
  PlatformSummaryQuery,
  PostUsageEventsDto,
  QuotaStatusDto,
  ReservationDto,
  ReserveDto,
  UsageEventsResultDto,
  UsageQuotasQuery,
  UsageReportDto,
  UsageSummaryQuery,
  USAGE_EVENTS_SCHEMA,
} from './dto/billing.dto.js';
import { type EventInput, MeteringService, requestOrigin } from './metering.service.js';
import { Metered } from './rate-limit.interceptor.js';
import { ReportsService } from './reports.service.js';

const id = new ParseUUIDPipe({ version: '4' });
const eventsSchema = new JsonSchemaPipe<UsageEventsBody>(USAGE_EVENTS_SCHEMA);

interface UsageEventsBody {
  events: EventInput[];
}

/** The one rule of the events schema that JSON schema cannot state: metadata of at most 4 KB as JSON. */
/** Metering for tenant apps and users: reservations, usage events, quotas and usage reports. */
@ApiTags('usage')
@ActsInTenant()
@Controller('usage')
export class UsageController {
  constructor(
    private readonly metering: MeteringService,
    private readonly reports: ReportsService,
  ) {}

  @Post('reservations')
  @Metered()
  @Authenticated({ permission: Permission.USAGE_WRITE })
  @ApiOperation({
    summary: 'Hold quota (and estimated credits) for a use; the same idempotency key answers the same reservation',
  })
  @ApiCreatedResponse({ type: ReservationDto })
  @ApiPaymentRequiredResponse({ description: 'INSUFFICIENT_CREDITS (prepaid plans), with available and required' })
  @ApiUnprocessableEntityResponse({ description: 'UNKNOWN_METER' })
  async reserve(@Body() body: ReserveDto): Promise<ReservationDto> {
    const reservation = await this.metering.reserve({ ...body, ttlSeconds: body.ttlSeconds ?? 300 });
    return ReservationDto.from(reservation);
  }

  @Get('reservations/:id')
  @Authenticated({ permission: Permission.USAGE_WRITE })
  @ApiOperation({ summary: 'A reservation (members: their own)' })
  @ApiOkResponse({ type: ReservationDto })
  @ApiNotFoundResponse({ description: 'RESERVATION_NOT_FOUND' })
  async get(@Param('id', id) reservationId: string): Promise<ReservationDto> {
    return ReservationDto.from(await this.metering.get(reservationId));
  }

  @Post('reservations/:id/commit')
  @HttpCode(200)
  @Authenticated({ permission: Permission.USAGE_WRITE })
  @ApiOperation({ summary: 'Record the actual usage and cost of a reservation; quota "used" grows only here' })
  @ApiOkResponse({ type: CommittedDto })
  @ApiNotFoundResponse({ description: 'RESERVATION_NOT_FOUND' })
  @ApiConflictResponse({ description: 'RESERVATION_SETTLED or RESERVATION_EXPIRED' })
  async commit(
    @Param('id', id) reservationId: string,
    @Body() body: CommitDto,
    @Req() request: FastifyRequest,
    @Ip() ip: string,
  ): Promise<CommittedDto> {
    const committed = await this.metering.commit(reservationId, body, requestOrigin(request, ip));
    return { ...committed, reservation: ReservationDto.from(committed.reservation) };
  }

  @Post('reservations/:id/release')
  @HttpCode(200)
  @Authenticated({ permission: Permission.USAGE_WRITE })
  @ApiOperation({ summary: 'Free the hold of a reservation without recording usage' })
  @ApiOkResponse({ type: ReservationDto })
  @ApiNotFoundResponse({ description: 'RESERVATION_NOT_FOUND' })
  @ApiConflictResponse({ description: 'RESERVATION_SETTLED' })
  async release(@Param('id', id) reservationId: string): Promise<ReservationDto> {
    return ReservationDto.from(await this.metering.release(reservationId));
  }

  @Post('events')
  @HttpCode(200)
  @Metered()
  @Authenticated({ permission: Permission.USAGE_WRITE })
  @ApiOperation({
    summary: 'Record up to 1000 usage events; the same event id counts once; each is accepted, a duplicate, or refused',
  })
  @ApiBody({ type: PostUsageEventsDto })
  @ApiOkResponse({ type: UsageEventsResultDto })
  @ApiUnprocessableEntityResponse({ description: 'UNKNOWN_METER (nothing recorded)' })
  async events(
    // An interface, not a class, so the global ValidationPipe leaves the body to the schema.
    @Body(eventsSchema) body: UsageEventsBody,
    @Req() request: FastifyRequest,
    @Ip() ip: string,
  ): Promise<UsageEventsResultDto> {
    const results = await this.metering.ingest(body.events, requestOrigin(request, ip));
    const count = (what: string) => results.filter((r) => r.result === what).length;
    return { results, accepted: count('accepted'), duplicates: count('duplicate'), errors: count('error') };
  }

  @Get('quotas')
  @Authenticated({ permission: Permission.USAGE_READ })
  @ApiOperation({
    summary: "The caller's quotas and what is left (the tenant key: tenant quotas; tenant admins: ?userId=)",
  })
  @ApiOkResponse({ type: [QuotaStatusDto] })
  quotas(@Query() query: UsageQuotasQuery): Promise<QuotaStatusDto[]> {
    return this.metering.quotaStatus(query.userId);
  }

  @Get('summary')
  @Authenticated({ permission: Permission.USAGE_READ })
  @ApiOperation({ summary: 'Usage and cost, grouped (members, viewers and personal keys: their own usage only)' })
  @ApiOkResponse({ type: UsageReportDto })
  summary(@Query() query: UsageSummaryQuery): Promise<UsageReportDto> {
    return this.reports.summary(query, query.groupBy ?? 'day', query.meter, query.userId);
  }

  @Get('leaderboard')
  @Authenticated({ permission: Permission.BILLING_READ })
  @ApiOperation({ summary: "The tenant's top users of a meter" })
  @ApiOkResponse({ type: UsageReportDto })
  leaderboard(@Query() query: LeaderboardQuery): Promise<UsageReportDto> {
    return this.reports.leaderboard(query, query.meter, query.limit ?? 10);
  }

  @Get('costs')
  @Authenticated({ permission: Permission.BILLING_READ })
  @ApiOperation({ summary: "The tenant's costs, grouped by provider, model, meter or user" })
  @ApiOkResponse({ type: UsageReportDto })
  costs(@Query() query: CostsQuery): Promise<UsageReportDto> {
    return this.reports.costs(query, query.groupBy ?? 'provider');
  }
}

/** Platform-wide usage for super admins. */
@ApiTags('usage')
@Controller('admin/usage')
export class PlatformUsageController {
  constructor(private readonly reports: ReportsService) {}

  @Get('summary')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Usage and cost across tenants, grouped by tenant, plan, meter, model, provider or day' })
  @ApiOkResponse({ type: UsageReportDto })
  summary(@Query() query: PlatformSummaryQuery): Promise<UsageReportDto> {
    return this.reports.platformSummary(query, query.groupBy ?? 'tenant', query.meter);
  }

  @Get('leaderboard')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'The top tenants of a meter' })
  @ApiOkResponse({ type: UsageReportDto })
  leaderboard(@Query() query: PlatformLeaderboardQuery): Promise<UsageReportDto> {
    return this.reports.platformLeaderboard(query, query.meter, query.limit ?? 10);
  }
}
