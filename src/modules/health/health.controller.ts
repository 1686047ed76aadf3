import { Controller, Get } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { HealthCheck } from '@nestjs/terminus';
import { Public } from '../../core/auth/auth.decorators.js';
import { ProblemDetailsDto } from '../../core/errors/problem-details.dto.js';
import { type Readiness, HealthService } from './health.service.js';

const liveSchema = { type: 'object', properties: { status: { type: 'string', example: 'ok' } } };

const readySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', example: 'ok' },
    details: {
      type: 'object',
      additionalProperties: true,
      description: 'Super admins only',
      example: { database: { status: 'up' } },
    },
    database: {
      type: 'object',
      description: 'Super admins only',
      example: { engine: 'postgresql', version: '17.2', rowLevelSecurity: true, vectorSearch: 'pgvector' },
    },
  },
};

@ApiTags('health')
@ApiExtraModels(ProblemDetailsDto)
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @Public()
  @ApiOperation({ summary: 'Liveness: the process is up and serving requests' })
  @ApiOkResponse({ description: 'The process is alive', schema: liveSchema })
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  live(): { status: 'ok' } {
    return this.health.live();
  }

  @Get('ready')
  @Public({ identify: true })
  @ApiOperation({
    summary: 'Readiness: the database (and Redis, when configured) answer; details only for super admins',
  })
  @ApiOkResponse({ description: 'Every dependency is up', schema: readySchema })
  @ApiServiceUnavailableResponse({
    description: 'A dependency is down; for super admins, `details` reports each one',
    content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetailsDto) } } },
  })
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  ready(): Promise<Readiness> {
    return this.health.ready();
  }
}
