import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsString,
  IsUrl,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { IntField, Nested, Optional, Trim } from '../../../core/http/dto-fields.js';
import { MAX_MICROS } from '../../billing/dto/billing.dto.js';
import {
  type KeyState,
  type ModelRoute,
  PROVIDER_KINDS,
  type Provider,
  type ProviderKey,
  type ProviderKind,
  type Task,
  TASKS,
} from '../entities/gateway.entity.js';

const PROVIDER_NAME = /^[a-z0-9][a-z0-9_.-]{0,99}$/;
const ALIAS = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$/;
const TIER = /^[a-z0-9_-]{1,32}$/;

const ProviderNameField = ({ optional }: { optional: boolean }) =>
  applyDecorators(
    (optional ? ApiPropertyOptional : ApiProperty)({
      example: 'openai',
      description: 'Lower-case letters, digits, `_`, `.` and `-`',
    }),
    ...(optional ? [Optional()] : []),
    IsString(),
    Matches(PROVIDER_NAME, { message: 'name must be 1..100 lower-case letters, digits, _, . or -' }),
  );

const BaseUrlField = () =>
  applyDecorators(
    ApiPropertyOptional({
      example: 'https://api.openai.com/v1',
      description:
        'The upstream API root (OpenAI-compatible; for gemini, the root its OpenAI endpoint is under); unset uses the kind’s own',
    }),
    Optional(),
    IsString(),
    MaxLength(2000),
    IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true }),
  );

const TiersField = (description: string) =>
  applyDecorators(
    ApiPropertyOptional({ type: [String], example: ['pro'], description }),
    Optional(),
    IsArray(),
    ArrayMaxSize(32),
    ArrayUnique(),
    Matches(TIER, { each: true, message: 'each tier must be 1..32 lower-case letters, digits, _ or -' }),
  );

const PriceField = (description: string) => IntField({ min: 0, max: MAX_MICROS, optional: true, description });

// ---- providers ---------------------------------------------------------------

export class CreateProviderDto {
  @ProviderNameField({ optional: false })
  name: string;

  @ApiProperty({ enum: PROVIDER_KINDS, description: 'openai and gemini speak the OpenAI API; local is built in' })
  @IsIn(PROVIDER_KINDS)
  kind: ProviderKind;

  @BaseUrlField()
  baseUrl?: string;

  @ApiPropertyOptional({ default: true })
  @Optional()
  @IsBoolean()
  enabled?: boolean;
}

export class UpdateProviderDto {
  @ProviderNameField({ optional: true })
  name?: string;

  @BaseUrlField()
  baseUrl?: string;

  @ApiPropertyOptional()
  @Optional()
  @IsBoolean()
  enabled?: boolean;
}

export class ProviderDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: PROVIDER_KINDS }) kind: string;
  @ApiProperty({ type: String, nullable: true }) baseUrl: string | null;
  @ApiProperty() enabled: boolean;
  @ApiProperty({ description: 'Keys in its pool' }) keys: number;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;

  static from(provider: Provider, keys: number): ProviderDto {
    return {
      id: provider.id,
      name: provider.name,
      kind: provider.kind,
      baseUrl: provider.baseUrl,
      enabled: provider.enabled,
      keys,
      createdAt: provider.createdAt.toISOString(),
      updatedAt: provider.updatedAt.toISOString(),
    };
  }
}

export class AddProviderKeyDto {
  @ApiProperty({ description: 'The upstream API key; stored encrypted, never shown again' })
  @Trim()
  @IsString()
  @MinLength(8)
  @MaxLength(500)
  @Matches(/^[\x21-\x7e]+$/, { message: 'key must be printable ASCII without spaces' })
  key: string;
}

export class ProviderKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: '…a1b2', description: 'The last 4 characters of the key' }) masked: string;
  @ApiProperty({ enum: ['active', 'cooling', 'disabled'] }) state: KeyState | 'cooling';
  @ApiProperty({ type: String, nullable: true }) coolingUntil: string | null;
  @ApiProperty() requests: number;
  @ApiProperty() failures: number;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({ type: String, nullable: true }) lastUsedAt: string | null;
  @ApiProperty() createdAt: string;

  static from(key: ProviderKey, now: Date): ProviderKeyDto {
    const cooling = key.state === 'active' && key.coolingUntil !== null && key.coolingUntil > now;
    return {
      id: key.id,
      masked: `…${key.last4}`,
      state: cooling ? 'cooling' : key.state,
      coolingUntil: cooling ? key.coolingUntil!.toISOString() : null,
      requests: key.requests,
      failures: key.failures,
      lastError: key.lastError,
      lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
      createdAt: key.createdAt.toISOString(),
    };
  }
}

// ---- model routes ------------------------------------------------------------

export class RouteTargetDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('4')
  providerId: string;

  @ApiProperty({ example: 'gpt-4o-mini', description: 'The model name the provider knows' })
  @IsString()
  @Matches(/^[\x21-\x7e]{1,200}$/, { message: 'model must be 1..200 printable characters without spaces' })
  model: string;
}

/** The fields a route is created and updated with (alias and task only on creation). */
class RouteFieldsDto {
  @TiersField('Plan tiers that may use it; empty or left out: every tier')
  tiers?: string[];

  @TiersField('Tiers for which it is what `model: auto` (or no model) means for its task')
  defaultFor?: string[];

  @PriceField('Micros per million input tokens')
  inputPerMTokMicros?: number;

  @PriceField('Micros per million output tokens')
  outputPerMTokMicros?: number;

  @PriceField('Micros per image')
  perImageMicros?: number;

  @PriceField('Micros per second of video')
  perVideoSecondMicros?: number;
}

export class CreateModelRouteDto extends RouteFieldsDto {
  @ApiProperty({ example: 'story-fast', description: 'The model name callers use' })
  @IsString()
  @Matches(ALIAS, { message: 'alias must be 1..100 letters, digits, _, ., :, / or -, starting with a letter or digit' })
  alias: string;

  @ApiProperty({ enum: TASKS })
  @IsIn(TASKS)
  task: Task;

  @ApiProperty({ type: [RouteTargetDto], description: 'Tried in order: the first is used, the next on failure' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(8)
  @Nested(() => RouteTargetDto, { each: true })
  targets: RouteTargetDto[];
}

export class UpdateModelRouteDto extends RouteFieldsDto {
  @ApiPropertyOptional({ type: [RouteTargetDto] })
  @Optional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(8)
  @Nested(() => RouteTargetDto, { each: true })
  targets?: RouteTargetDto[];
}

export class ModelRouteDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() alias: string;
  @ApiProperty({ enum: TASKS }) task: string;
  @ApiProperty({ type: [String] }) tiers: string[];
  @ApiProperty({ type: [String] }) defaultFor: string[];
  @ApiProperty({ type: [RouteTargetDto] }) targets: RouteTargetDto[];
  @ApiProperty() inputPerMTokMicros: number;
  @ApiProperty() outputPerMTokMicros: number;
  @ApiProperty() perImageMicros: number;
  @ApiProperty() perVideoSecondMicros: number;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;

  static from(route: ModelRoute): ModelRouteDto {
    return {
      id: route.id,
      alias: route.alias,
      task: route.task,
      tiers: route.tiers,
      defaultFor: route.defaultFor,
      targets: route.targets,
      inputPerMTokMicros: route.inputPerMTokMicros,
      outputPerMTokMicros: route.outputPerMTokMicros,
      perImageMicros: route.perImageMicros,
      perVideoSecondMicros: route.perVideoSecondMicros,
      createdAt: route.createdAt.toISOString(),
      updatedAt: route.updatedAt.toISOString(),
    };
  }
}

// ---- models (OpenAI shape) -----------------------------------------------------

export class ModelDto {
  @ApiProperty({ example: 'story-fast' }) id: string;
  @ApiProperty({ enum: ['model'] }) object: 'model';
  @ApiProperty({ description: 'Unix seconds' }) created: number;
  @ApiProperty({ example: 'atrium' }) owned_by: string;
  @ApiProperty({ enum: TASKS, description: 'What the model does' }) task: string;
}

export class ModelListDto {
  @ApiProperty({ enum: ['list'] }) object: 'list';
  @ApiProperty({ type: [ModelDto] }) data: ModelDto[];
}
