import { Body, Controller, Get, HttpCode, Ip, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBody,
  ApiForbiddenResponse,
  ApiGatewayTimeoutResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type OpenAI from 'openai';
import type { Readable } from 'node:stream';
import { Authenticated } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import { OpenAiErrors } from '../../core/errors/problem-details.filter.js';
import { JsonSchemaPipe } from '../../core/http/json-schema.pipe.js';
import { AcceptsUploads, readForm } from '../../core/http/uploads.js';
import { validationFailed } from '../../core/http/validation.pipe.js';
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
import {
  IMAGE_EDIT_FORM,
  IMAGE_EDIT_SCHEMA,
  IMAGE_GENERATION_SCHEMA,
  IMAGE_UPLOAD_MAX_BYTES,
  type ImageEditFields,
  type ImageGenerationBody,
  ImagesResponseDto,
} from './dto/images.dto.js';
import { GatewayService } from './gateway.service.js';
import { originOf } from './media.controller.js';

/**
 * The OpenAI-compatible API: the official `openai` SDK works against
 * `http://host:port/api/v1` with an Atrium API key (or access token) as its key.
 */
@ApiTags('gateway')
@ActsInTenant()
@Controller()
export class OpenAiController {
  private readonly editFields = new JsonSchemaPipe<ImageEditFields>(IMAGE_EDIT_SCHEMA);

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
  @ApiTooManyRequestsResponse({
    description:
      'QUOTA_EXCEEDED (meter `requests`, or `input_tokens` / `output_tokens` once used up: tokens count after each call) or RATE_LIMITED',
  })
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

  @Post('images/generations')
  @OpenAiErrors()
  @HttpCode(200)
  @Metered()
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({
    summary: 'Images from a prompt (OpenAI-compatible); each is stored as media, `url` is a signed link to it',
  })
  @ApiBody({ schema: IMAGE_GENERATION_SCHEMA as object })
  @ApiOkResponse({ type: ImagesResponseDto })
  @ApiForbiddenResponse({ description: 'MODEL_NOT_ALLOWED: the plan tier may not use the model' })
  @ApiTooManyRequestsResponse({ description: 'QUOTA_EXCEEDED (meter `images`) or RATE_LIMITED' })
  @ApiBadGatewayResponse({ description: 'PROVIDER_ERROR after retries' })
  @ApiServiceUnavailableResponse({ description: 'PROVIDER_NOT_CONFIGURED: nothing serves the model' })
  @ApiGatewayTimeoutResponse({ description: 'PROVIDER_TIMEOUT' })
  images(
    // An interface, not a class, so the global ValidationPipe leaves the body to the schema.
    @Body(new JsonSchemaPipe<ImageGenerationBody>(IMAGE_GENERATION_SCHEMA)) body: ImageGenerationBody,
    @Req() request: FastifyRequest,
    @Ip() ip: string,
  ): Promise<ImagesResponseDto> {
    return this.gateway.images(body, requestOrigin(request, ip), originOf(request));
  }

  @Post('images/edits')
  @OpenAiErrors()
  @HttpCode(200)
  @Metered()
  @AcceptsUploads()
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({
    summary: 'An edit of an image by a prompt (OpenAI-compatible, multipart; meter `image_edits`), stored as media',
  })
  @ApiBody({ schema: IMAGE_EDIT_FORM as object })
  @ApiOkResponse({ type: ImagesResponseDto })
  @ApiForbiddenResponse({ description: 'MODEL_NOT_ALLOWED: the plan tier may not use the model' })
  @ApiPayloadTooLargeResponse({ description: 'The image is larger than 20 MB' })
  @ApiUnsupportedMediaTypeResponse({ description: 'Not multipart/form-data' })
  @ApiTooManyRequestsResponse({ description: 'QUOTA_EXCEEDED (meter `image_edits`) or RATE_LIMITED' })
  @ApiBadGatewayResponse({ description: 'PROVIDER_ERROR after retries' })
  @ApiServiceUnavailableResponse({ description: 'PROVIDER_NOT_CONFIGURED: nothing serves the model' })
  @ApiGatewayTimeoutResponse({ description: 'PROVIDER_TIMEOUT' })
  async imageEdits(@Req() request: FastifyRequest, @Ip() ip: string): Promise<ImagesResponseDto> {
    const form = await readForm(request, IMAGE_UPLOAD_MAX_BYTES);
    const { n, ...rest } = form.fields;
    const fields = this.editFields.transform({
      ...rest,
      ...(n !== undefined && { n: /^\d{1,3}$/.test(n) ? Number(n) : n }),
    });
    if (!form.file || !['image', 'image[]'].includes(form.file.fieldName)) {
      throw validationFailed([{ field: 'image', messages: ['image is required (a PNG, JPEG or WebP file)'] }]);
    }
    return this.gateway.imageEdits(fields, form.file.bytes, requestOrigin(request, ip), originOf(request));
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
