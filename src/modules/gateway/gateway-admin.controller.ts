import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
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
import { Clock } from '../../core/ports/clock.js';
import {
  AddProviderKeyDto,
  CreateModelRouteDto,
  CreateProviderDto,
  ModelRouteDto,
  ProviderDto,
  ProviderKeyDto,
  UpdateModelRouteDto,
  UpdateProviderDto,
} from './dto/admin.dto.js';
import { GatewayAdminService } from './gateway-admin.service.js';

const id = new ParseUUIDPipe({ version: '4' });

@ApiTags('gateway')
@Controller()
export class GatewayAdminController {
  constructor(
    private readonly admin: GatewayAdminService,
    private readonly clock: Clock,
  ) {}

  @Post('providers')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Add an upstream provider' })
  @ApiCreatedResponse({ type: ProviderDto })
  @ApiConflictResponse({ description: 'PROVIDER_NAME_TAKEN' })
  async createProvider(@Body() body: CreateProviderDto): Promise<ProviderDto> {
    const { provider, keys } = await this.admin.createProvider(body);
    return ProviderDto.from(provider, keys);
  }

  @Get('providers')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Every provider' })
  @ApiOkResponse({ type: [ProviderDto] })
  async listProviders(): Promise<ProviderDto[]> {
    return (await this.admin.listProviders()).map(({ provider, keys }) => ProviderDto.from(provider, keys));
  }

  @Get('providers/:id')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'A provider' })
  @ApiOkResponse({ type: ProviderDto })
  @ApiNotFoundResponse({ description: 'PROVIDER_NOT_FOUND' })
  async getProvider(@Param('id', id) providerId: string): Promise<ProviderDto> {
    const { provider, keys } = await this.admin.provider(providerId);
    return ProviderDto.from(provider, keys);
  }

  @Patch('providers/:id')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Rename, repoint, enable or disable a provider' })
  @ApiOkResponse({ type: ProviderDto })
  @ApiNotFoundResponse({ description: 'PROVIDER_NOT_FOUND' })
  @ApiConflictResponse({ description: 'PROVIDER_NAME_TAKEN' })
  async updateProvider(@Param('id', id) providerId: string, @Body() body: UpdateProviderDto): Promise<ProviderDto> {
    const { provider, keys } = await this.admin.updateProvider(providerId, body);
    return ProviderDto.from(provider, keys);
  }

  @Delete('providers/:id')
  @HttpCode(204)
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Delete a provider and its keys (not while a model route targets it)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ description: 'PROVIDER_NOT_FOUND' })
  @ApiConflictResponse({ description: 'PROVIDER_IN_USE' })
  async deleteProvider(@Param('id', id) providerId: string): Promise<void> {
    await this.admin.deleteProvider(providerId);
  }

  @Post('providers/:id/keys')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Add an API key to the provider’s pool (stored encrypted; only its last 4 are shown)' })
  @ApiCreatedResponse({ type: ProviderKeyDto })
  @ApiNotFoundResponse({ description: 'PROVIDER_NOT_FOUND' })
  @ApiConflictResponse({ description: 'PROVIDER_KEY_EXISTS' })
  @ApiUnprocessableEntityResponse({ description: 'PROVIDER_KEYLESS: the local provider takes no keys' })
  async addKey(@Param('id', id) providerId: string, @Body() body: AddProviderKeyDto): Promise<ProviderKeyDto> {
    return ProviderKeyDto.from(await this.admin.addKey(providerId, body.key), this.clock.now());
  }

  @Get('providers/:id/keys')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'The provider’s keys, masked, with their state, counts, last error and cool-down' })
  @ApiOkResponse({ type: [ProviderKeyDto] })
  @ApiNotFoundResponse({ description: 'PROVIDER_NOT_FOUND' })
  async listKeys(@Param('id', id) providerId: string): Promise<ProviderKeyDto[]> {
    const now = this.clock.now();
    return (await this.admin.listKeys(providerId)).map((k) => ProviderKeyDto.from(k, now));
  }

  @Delete('providers/:id/keys/:keyId')
  @HttpCode(204)
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Remove a key from the pool' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiNotFoundResponse({ description: 'PROVIDER_NOT_FOUND or PROVIDER_KEY_NOT_FOUND' })
  async deleteKey(@Param('id', id) providerId: string, @Param('keyId', id) keyId: string): Promise<void> {
    await this.admin.deleteKey(providerId, keyId);
  }

  @Post('model-routes')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Add a model route: an alias, its task, tiers, targets (in fallback order) and prices' })
  @ApiCreatedResponse({ type: ModelRouteDto })
  @ApiConflictResponse({ description: 'MODEL_ALIAS_TAKEN' })
  @ApiUnprocessableEntityResponse({ description: 'UNKNOWN_PROVIDER in targets' })
  async createRoute(@Body() body: CreateModelRouteDto): Promise<ModelRouteDto> {
    return ModelRouteDto.from(await this.admin.createRoute(body));
  }

  @Get('model-routes')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Every model route' })
  @ApiOkResponse({ type: [ModelRouteDto] })
  async listRoutes(): Promise<ModelRouteDto[]> {
    return (await this.admin.listRoutes()).map(ModelRouteDto.from);
  }

  @Get('model-routes/:id')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'A model route' })
  @ApiOkResponse({ type: ModelRouteDto })
  @ApiNotFoundResponse({ description: 'MODEL_ROUTE_NOT_FOUND' })
  async getRoute(@Param('id', id) routeId: string): Promise<ModelRouteDto> {
    return ModelRouteDto.from(await this.admin.route(routeId));
  }

  @Patch('model-routes/:id')
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Change a route’s tiers, targets or prices (its alias and task stay)' })
  @ApiOkResponse({ type: ModelRouteDto })
  @ApiNotFoundResponse({ description: 'MODEL_ROUTE_NOT_FOUND' })
  @ApiUnprocessableEntityResponse({ description: 'UNKNOWN_PROVIDER in targets' })
  async updateRoute(@Param('id', id) routeId: string, @Body() body: UpdateModelRouteDto): Promise<ModelRouteDto> {
    return ModelRouteDto.from(await this.admin.updateRoute(routeId, body));
  }

  @Delete('model-routes/:id')
  @HttpCode(204)
  @Authenticated({ superAdmin: true })
  @ApiOperation({ summary: 'Delete a model route' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ description: 'MODEL_ROUTE_NOT_FOUND' })
  async deleteRoute(@Param('id', id) routeId: string): Promise<void> {
    await this.admin.deleteRoute(routeId);
  }
}
