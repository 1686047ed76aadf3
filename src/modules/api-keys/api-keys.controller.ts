import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Authenticated } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import { ApiKeysService } from './api-keys.service.js';
import {
  ApiKeyDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  ListApiKeysQuery,
  RegenerateTenantKeyDto,
} from './dto/api-key.dto.js';

const id = new ParseUUIDPipe({ version: '4' });

@ApiTags('api-keys')
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @Authenticated({ permission: Permission.KEYS_WRITE })
  @ApiOperation({ summary: 'Create a personal API key; the full key is returned only in this response' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  create(@Body() body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.keys.createPersonal(body);
  }

  @Get()
  @Authenticated({ permission: Permission.KEYS_READ })
  @ApiOperation({ summary: "The caller's keys (tenant admins: ?all=true for every key of the tenant)" })
  @ApiOkResponse({ type: [ApiKeyDto] })
  list(@Query() query: ListApiKeysQuery): Promise<ApiKeyDto[]> {
    return this.keys.list(query.all === 'true');
  }

  @Get(':id')
  @Authenticated({ permission: Permission.KEYS_READ })
  @ApiOperation({ summary: 'One key (never the key itself)' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse({ description: "No such key, or another user's or tenant's" })
  get(@Param('id', id) keyId: string): Promise<ApiKeyDto> {
    return this.keys.get(keyId);
  }

  @Delete(':id')
  @HttpCode(204)
  @Authenticated({ permission: Permission.KEYS_WRITE })
  @ApiOperation({ summary: 'Revoke a key; it is refused from the next request' })
  @ApiNoContentResponse({ description: 'Revoked' })
  async revoke(@Param('id', id) keyId: string): Promise<void> {
    await this.keys.revoke(keyId);
  }
}

@ApiTags('tenants')
@Controller('tenants')
export class TenantKeyController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post(':id/regenerate-api-key')
  @HttpCode(200)
  @Authenticated({ permission: Permission.TENANT_MANAGE })
  @ApiOperation({
    summary: "Replace the tenant's API key (super admin, or that tenant's admin); the new key is shown once",
  })
  @ApiOkResponse({ type: CreatedApiKeyDto })
  @ApiNotFoundResponse({ description: 'No such tenant (or not yours)' })
  regenerate(@Param('id', id) tenantId: string, @Body() body: RegenerateTenantKeyDto): Promise<CreatedApiKeyDto> {
    return this.keys.regenerateTenantKey(tenantId, body.graceSeconds ?? 0);
  }
}
