import { randomUUID } from 'node:crypto';
import { Logger, type LoggerService, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter.js';
import { createValidationPipe } from './common/http/validation.pipe.js';
import { MetricsService } from './modules/metrics/metrics.service.js';
import { setupSwagger } from './openapi.js';

export const API_PREFIX = 'api/v1';

/** An incoming X-Request-Id is kept only when it is short and made of safe characters. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(req: { headers: Record<string, string | string[] | undefined> }): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export interface CreateAppOptions extends AppModuleOptions {
  logger: LoggerService | false;
}

/** Builds the configured application without listening; main.ts and the tests share it. */
export async function createApp({ logger, ...moduleOptions }: CreateAppOptions): Promise<NestFastifyApplication> {
  const { config } = moduleOptions;
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimitBytes,
    logger: false,
    requestIdHeader: false,
    genReqId: requestIdFrom,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(moduleOptions), adapter, {
    logger,
    bufferLogs: false,
    abortOnError: false,
  });

  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health/live', method: RequestMethod.GET },
      { path: 'health/ready', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
    ],
  });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());
  registerHttpHooks(app);
  await setupSwagger(app);
  return app;
}

function registerHttpHooks(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const accessLog = new Logger('HTTP');
  const metrics = app.get(MetricsService);

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-request-id', request.id);
  });

  // While draining, tell keep-alive clients to disconnect so closing does not wait for their idle sockets.
  let draining = false;
  fastify.addHook('preClose', async () => {
    draining = true;
  });
  fastify.addHook('onSend', async (_request: FastifyRequest, reply: FastifyReply) => {
    if (draining) reply.header('connection', 'close');
  });

  fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url ?? '(unmatched)';
    const durationMs = Math.round(reply.elapsedTime * 100) / 100;
    metrics.observeRequest(request.method, route, reply.statusCode, durationMs);
    const principal = request.principal;
    accessLog.log({
      message: `${request.method} ${route} ${reply.statusCode} ${durationMs}ms`,
      requestId: request.id,
      ...(principal && {
        tenantId: principal.tenantId,
        principal: principal.kind === 'tenant_app' ? 'tenant_app' : principal.userId,
        keyPrefix: principal.apiKey?.prefix,
      }),
      method: request.method,
      route,
      status: reply.statusCode,
      durationMs,
    });
  });
}
