import { Controller, Get } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { HealthCheck, type HealthCheckResult } from '@nestjs/terminus';
import { Public } from '../../core/auth/auth.decorators.js';
import { ProblemDetailsDto } from '../../core/errors/problem-details.dto.js';
import { HealthService } from './health.service.js';

const checkResultSchema = {
  type: 'object',
  properties: {
    status: { type: 'string', example: 'ok' },
    info: { type: 'object', additionalProperties: true, example: { database: { status: 'up' } } },
    error: { type: 'object', additionalProperties: true, example: {} },
    details: { type: 'object', additionalProperties: true, example: { database: { status: 'up' } } },
  },
};

@ApiTags('health')
@ApiExtraModels(ProblemDetailsDto)
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up and serving requests' })
  @ApiOkResponse({ description: 'The process is alive', schema: checkResultSchema })
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  live(): HealthCheckResult {
    return this.health.live();
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database (and Redis, when configured) answer' })
  @ApiOkResponse({ description: 'Every dependency is up', schema: checkResultSchema })
  @ApiServiceUnavailableResponse({
    description: 'A dependency is down; `details` reports each one',
    content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetailsDto) } } },
  })
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  ready(): Promise<HealthCheckResult> {
    return this.health.ready();
  }
}
