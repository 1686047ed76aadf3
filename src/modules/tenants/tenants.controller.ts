import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import {
  CreatedTenantDto,
  CreateTenantDto,
  DeleteTenantQuery,
  ListTenantsQuery,
  SuspendTenantDto,
  TenantDto,
  TenantPageDto,
  TenantStatisticsDto,
  UpdateTenantDto,
} from './dto/tenant.dto.js';
import { TenantsService } from './tenants.service.js';

const id = new ParseUUIDPipe({ version: '4' });

@ApiTags('tenants')
@Controller('tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Create a tenant and its first tenant admin' })
  @ApiCreatedResponse({ type: CreatedTenantDto })
  @ApiConflictResponse({ description: 'The slug is taken' })
  async create(@Body() body: CreateTenantDto): Promise<CreatedTenantDto> {
    const { tenant, admin, apiKey } = await this.tenants.create(body);
    return { tenant: TenantDto.from(tenant), adminId: admin.id, apiKey: apiKey.secret };
  }

  @Get()
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'List tenants (filter by status, search; paginated)' })
  @ApiOkResponse({ type: TenantPageDto })
  list(@Query() query: ListTenantsQuery): Promise<TenantPageDto> {
    return this.tenants.list(query);
  }

  @Get('current')
  @Authenticated({ permission: Permission.TENANT_READ })
  @ApiOperation({ summary: "The caller's tenant" })
  @ApiOkResponse({ type: TenantDto })
  current(): Promise<TenantDto> {
    return this.tenants.current();
  }

  @Get(':id')
  @Authenticated({ permission: Permission.TENANT_READ })
  @ApiOperation({ summary: 'A tenant: super admins any, others their own' })
  @ApiOkResponse({ type: TenantDto })
  @ApiNotFoundResponse({ description: 'No such tenant (or not yours)' })
  get(@Param('id', id) tenantId: string): Promise<TenantDto> {
    return this.tenants.get(tenantId);
  }

  @Patch(':id')
  @Authenticated({ permission: Permission.TENANT_MANAGE })
  @ApiOperation({ summary: 'Update a tenant: super admins all fields, tenant admins their own name and settings' })
  @ApiOkResponse({ type: TenantDto })
  update(@Param('id', id) tenantId: string, @Body() body: UpdateTenantDto): Promise<TenantDto> {
    return this.tenants.update(tenantId, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: "Delete a tenant (soft by default; ?hard=true purges all the tenant's rows)" })
  @ApiNoContentResponse({ description: 'Deleted' })
  async remove(@Param('id', id) tenantId: string, @Query() query: DeleteTenantQuery): Promise<void> {
    await this.tenants.remove(tenantId, query.hard === 'true');
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Suspend a tenant: its users get 403 TENANT_SUSPENDED until reactivated' })
  @ApiOkResponse({ type: TenantDto })
  suspend(@Param('id', id) tenantId: string, @Body() body: SuspendTenantDto): Promise<TenantDto> {
    return this.tenants.suspend(tenantId, body.reason);
  }

  @Post(':id/reactivate')
  @HttpCode(200)
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Reactivate a suspended tenant' })
  @ApiOkResponse({ type: TenantDto })
  reactivate(@Param('id', id) tenantId: string): Promise<TenantDto> {
    return this.tenants.reactivate(tenantId);
  }

  @Get(':id/statistics')
  @Authenticated({ permission: Permission.TENANT_MANAGE })
  @ApiOperation({ summary: 'Tenant statistics: users by role and status' })
  @ApiOkResponse({ type: TenantStatisticsDto })
  statistics(@Param('id', id) tenantId: string): Promise<TenantStatisticsDto> {
    return this.tenants.statistics(tenantId);
  }
}
