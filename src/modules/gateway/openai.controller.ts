import { Body, Controller, Get, HttpCode, Ip, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBody,
  ApiForbiddenResponse,
  ApiGatewayTimeoutResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type OpenAI from 'openai';
import type { Readable } from 'node:stream';
import { Authenticated } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import { OpenAiErrors } from '../../core/errors/problem-details.filter.js';
import { JsonSchemaPipe } from '../../core/http/json-schema.pipe.js';
import { ActsInTenant } from '../../core/identity/tenant-selection.js';
import { requestOrigin } from '../billing/metering.service.js';
import { Metered } from '../billing/rate-limit.interceptor.js';
import { ModelListDto } from './dto/admin.dto.js';
import {
  CHAT_COMPLETION_SCHEMA,
  type ChatCompletionBody,
  ChatCompletionDto,
  EMBEDDINGS_SCHEMA,
  EmbeddingListDto,
  type EmbeddingsBody,
} from './dto/chat.dto.js';
import { GatewayService } from './gateway.service.js';

/**
 * The OpenAI-compatible API: the official `openai` SDK works against
 * `http://host:port/api/v1` with an Atrium API key (or access token) as its key.
 */
@ApiTags('gateway')
@ActsInTenant()
@Controller()
export class OpenAiController {
  constructor(private readonly gateway: GatewayService) {}

  @Get('models')
  @OpenAiErrors()
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({ summary: 'The models (aliases) the caller’s plan tier may use, in OpenAI’s shape' })
  @ApiOkResponse({ type: ModelListDto })
  models(): Promise<ModelListDto> {
    return this.gateway.models();
  }

  @Post('chat/completions')
  @OpenAiErrors()
  @HttpCode(200)
  @Metered()
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({
    summary: 'Chat completion (OpenAI-compatible); with `stream: true`, server-sent chunks then `data: [DONE]`',
  })
  @ApiBody({ schema: CHAT_COMPLETION_SCHEMA as object })
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: ChatCompletionDto })
  @ApiForbiddenResponse({ description: 'MODEL_NOT_ALLOWED: the plan tier may not use the model' })
  @ApiBadGatewayResponse({ description: 'PROVIDER_ERROR after retries' })
  @ApiServiceUnavailableResponse({ description: 'PROVIDER_NOT_CONFIGURED: nothing serves the model' })
  @ApiGatewayTimeoutResponse({ description: 'PROVIDER_TIMEOUT' })
  async chat(
    // An interface, not a class, so the global ValidationPipe leaves the body to the schema.
    @Body(new JsonSchemaPipe<ChatCompletionBody>(CHAT_COMPLETION_SCHEMA)) body: ChatCompletionBody,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Ip() ip: string,
  ): Promise<OpenAI.ChatCompletion | Readable> {
    const origin = requestOrigin(request, ip);
    if (!body.stream) return this.gateway.chat(body, origin);
    const gone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    const stream = await this.gateway.chatStream(body, origin, gone.signal);
    reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache');
    return stream;
  }

  @Post('embeddings')
  @OpenAiErrors()
  @HttpCode(200)
  @Metered()
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({ summary: 'Embeddings of a text or a list of texts (OpenAI-compatible)' })
  @ApiBody({ schema: EMBEDDINGS_SCHEMA as object })
  @ApiOkResponse({ type: EmbeddingListDto })
  @ApiForbiddenResponse({ description: 'MODEL_NOT_ALLOWED: the plan tier may not use the model' })
  @ApiBadGatewayResponse({ description: 'PROVIDER_ERROR after retries' })
  @ApiServiceUnavailableResponse({ description: 'PROVIDER_NOT_CONFIGURED: nothing serves the model' })
  @ApiGatewayTimeoutResponse({ description: 'PROVIDER_TIMEOUT' })
  embeddings(
    // An interface, not a class, so the global ValidationPipe leaves the body to the schema.
    @Body(new JsonSchemaPipe<EmbeddingsBody>(EMBEDDINGS_SCHEMA)) body: EmbeddingsBody,
    @Req() request: FastifyRequest,
    @Ip() ip: string,
  ): Promise<OpenAI.CreateEmbeddingResponse> {
    return this.gateway.embeddings(body, requestOrigin(request, ip));
  }
}
