import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { Authenticated } from '../../core/auth/auth.decorators.js';
import { Permission, Role } from '../../core/auth/permissions.js';
import { RequestContext } from '../../core/context/request-context.js';
import { CatalogService, meterNotFound } from './catalog.service.js';
import {
  CreateMeterDto,
  CreatePlanDto,
  ListPlansQuery,
  MeterDto,
  PlanDto,
  UpdateMeterDto,
  UpdatePlanDto,
} from './dto/billing.dto.js';

const id = new ParseUUIDPipe({ version: '4' });
const METER_CODE = /^[a-z][a-z0-9_.]{0,63}$/;

@ApiTags('billing')
@Controller()
export class CatalogController {
  constructor(
    private readonly catalog: CatalogService,
    private readonly context: RequestContext,
  ) {}

  @Post('meters')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Add a meter (a named count usage is measured in)' })
  @ApiCreatedResponse({ type: MeterDto })
  @ApiConflictResponse({ description: 'METER_EXISTS' })
  async createMeter(@Body() body: CreateMeterDto): Promise<MeterDto> {
    return MeterDto.from(await this.catalog.createMeter(body));
  }

  @Get('meters')
  @Authenticated({ permission: Permission.PLANS_READ })
  @ApiOperation({ summary: 'Every meter: the built-in ones and those super admins added' })
  @ApiOkResponse({ type: [MeterDto] })
  async listMeters(): Promise<MeterDto[]> {
    return (await this.catalog.listMeters()).map(MeterDto.from);
  }

  @Patch('meters/:code')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Rename a meter or change its unit (its code stays)' })
  @ApiOkResponse({ type: MeterDto })
  @ApiNotFoundResponse({ description: 'METER_NOT_FOUND' })
  async updateMeter(@Param('code') code: string, @Body() body: UpdateMeterDto): Promise<MeterDto> {
    if (!METER_CODE.test(code)) throw meterNotFound();
    return MeterDto.from(await this.catalog.updateMeter(code, body));
  }

  @Post('plans')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Add a plan to the catalog' })
  @ApiCreatedResponse({ type: PlanDto })
  @ApiConflictResponse({ description: 'PLAN_CODE_TAKEN' })
  @ApiUnprocessableEntityResponse({ description: 'UNKNOWN_METER in quotas or charges' })
  async createPlan(@Body() body: CreatePlanDto): Promise<PlanDto> {
    return PlanDto.from(await this.catalog.createPlan(body));
  }

  @Get('plans')
  @Authenticated({ permission: Permission.PLANS_READ })
  @ApiOperation({ summary: 'The active plans (super admins: ?all=true for archived ones too)' })
  @ApiOkResponse({ type: [PlanDto] })
  async listPlans(@Query() query: ListPlansQuery): Promise<PlanDto[]> {
    return (await this.catalog.listPlans(query.all === 'true' && this.superAdmin())).map(PlanDto.from);
  }

  @Get('plans/:id')
  @Authenticated({ permission: Permission.PLANS_READ })
  @ApiOperation({ summary: 'A plan (archived ones for super admins only)' })
  @ApiOkResponse({ type: PlanDto })
  @ApiNotFoundResponse({ description: 'PLAN_NOT_FOUND' })
  async getPlan(@Param('id', id) planId: string): Promise<PlanDto> {
    return PlanDto.from(await this.catalog.plan(planId, this.superAdmin()));
  }

  @Patch('plans/:id')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Change a plan; tenants on it get the change at once' })
  @ApiOkResponse({ type: PlanDto })
  @ApiNotFoundResponse({ description: 'PLAN_NOT_FOUND' })
  @ApiUnprocessableEntityResponse({ description: 'UNKNOWN_METER in quotas or charges' })
  async updatePlan(@Param('id', id) planId: string, @Body() body: UpdatePlanDto): Promise<PlanDto> {
    return PlanDto.from(await this.catalog.updatePlan(planId, body));
  }

  @Delete('plans/:id')
  @HttpCode(204)
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Archive a plan: it leaves the catalog; tenants on it keep it until moved' })
  @ApiNoContentResponse({ description: 'Archived' })
  @ApiNotFoundResponse({ description: 'PLAN_NOT_FOUND' })
  async archivePlan(@Param('id', id) planId: string): Promise<void> {
    await this.catalog.archivePlan(planId);
  }

  private superAdmin(): boolean {
    return this.context.principal.role === Role.SUPER_ADMIN;
  }
}
