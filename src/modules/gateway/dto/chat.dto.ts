import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type OpenAI from 'openai';

const TEXT_MAX = 1_000_000;
const NAME = '^[A-Za-z0-9_-]{1,64}$';
const MAX_TOKENS = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const;

/** A part of a message's content: text, an image, audio, a file or a refusal. */
const CONTENT_PART = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['text', 'image_url', 'input_audio', 'file', 'refusal'] },
    text: { type: 'string', maxLength: TEXT_MAX },
    refusal: { type: 'string', maxLength: TEXT_MAX },
    image_url: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', maxLength: 20_000_000 },
        detail: { type: 'string', enum: ['auto', 'low', 'high'] },
      },
    },
    input_audio: {
      type: 'object',
      additionalProperties: false,
      required: ['data', 'format'],
      properties: { data: { type: 'string' }, format: { type: 'string', enum: ['wav', 'mp3'] } },
    },
    file: {
      type: 'object',
      additionalProperties: false,
      properties: {
        file_data: { type: 'string' },
        file_id: { type: 'string', maxLength: 200 },
        filename: { type: 'string', maxLength: 500 },
      },
    },
  },
} as const;

const TOOL_CALL = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', 'function'],
  properties: {
    id: { type: 'string', maxLength: 200 },
    type: { type: 'string', enum: ['function'] },
    function: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'arguments'],
      properties: { name: { type: 'string', pattern: NAME }, arguments: { type: 'string', maxLength: TEXT_MAX } },
    },
  },
} as const;

const MESSAGE = {
  type: 'object',
  additionalProperties: false,
  required: ['role'],
  properties: {
    role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
    content: {
      oneOf: [
        { type: 'string', maxLength: TEXT_MAX },
        { type: 'array', maxItems: 256, items: CONTENT_PART },
        { type: 'null' },
      ],
    },
    name: { type: 'string', pattern: NAME },
    tool_calls: { type: 'array', maxItems: 128, items: TOOL_CALL },
    tool_call_id: { type: 'string', maxLength: 200 },
    refusal: { oneOf: [{ type: 'string', maxLength: TEXT_MAX }, { type: 'null' }] },
  },
} as const;

/** `{type: 'function', function: <fn>}`: a tool, and the tool a call must use. */
const functionEntry = <F extends object>(fn: F) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['type', 'function'],
    properties: { type: { type: 'string', enum: ['function'] }, function: fn },
  }) as const;

/** A named JSON schema with its description and strictness: a function's parameters, a response format. */
const namedSchema = <K extends string>(schemaKey: K) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', pattern: NAME },
      description: { type: 'string', maxLength: 10_000 },
      [schemaKey]: { type: 'object', maxJsonBytes: 65_536 },
      strict: { oneOf: [{ type: 'boolean' }, { type: 'null' }] },
    },
  }) as const;

const TOOL = functionEntry(namedSchema('parameters'));

/**
 * POST /chat/completions, as OpenAI's API takes it (the fields Atrium passes
 * upstream; any other is refused). `model` is an Atrium model alias, or `auto`
 * (or left out) for the caller's tier's default chat model.
 */
export const CHAT_COMPLETION_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['messages'],
  properties: {
    model: { type: 'string', minLength: 1, maxLength: 100 },
    messages: { type: 'array', minItems: 1, maxItems: 2048, items: MESSAGE },
    tools: { type: 'array', maxItems: 128, items: TOOL },
    tool_choice: {
      oneOf: [
        { type: 'string', enum: ['none', 'auto', 'required'] },
        functionEntry({
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: { type: 'string', pattern: NAME } },
        } as const),
      ],
    },
    parallel_tool_calls: { type: 'boolean' },
    response_format: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: {
        type: { type: 'string', enum: ['text', 'json_object', 'json_schema'] },
        json_schema: namedSchema('schema'),
      },
    },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    top_p: { type: 'number', minimum: 0, maximum: 1 },
    n: { type: 'integer', minimum: 1, maximum: 8 },
    max_tokens: MAX_TOKENS,
    max_completion_tokens: MAX_TOKENS,
    stop: {
      oneOf: [
        { type: 'string', maxLength: 1000 },
        { type: 'array', maxItems: 4, items: { type: 'string', maxLength: 1000 } },
      ],
    },
    seed: { type: 'integer', minimum: -9_007_199_254_740_991, maximum: 9_007_199_254_740_991 },
    presence_penalty: { type: 'number', minimum: -2, maximum: 2 },
    frequency_penalty: { type: 'number', minimum: -2, maximum: 2 },
    logprobs: { type: 'boolean' },
    top_logprobs: { type: 'integer', minimum: 0, maximum: 20 },
    user: { type: 'string', maxLength: 256 },
    stream: { type: 'boolean' },
    stream_options: {
      type: 'object',
      additionalProperties: false,
      properties: { include_usage: { type: 'boolean' } },
    },
  },
} as const;

/** The chat request as validated by CHAT_COMPLETION_SCHEMA (OpenAI's own type, `model` optional). */
export type ChatCompletionBody = Omit<OpenAI.ChatCompletionCreateParams, 'model'> & { model?: string };

export class ChatUsageDto {
  @ApiProperty() prompt_tokens: number;
  @ApiProperty() completion_tokens: number;
  @ApiProperty() total_tokens: number;
}

export class ChatChoiceDto {
  @ApiProperty() index: number;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'role, content, tool_calls' })
  message: Record<string, unknown>;
  @ApiProperty({ enum: ['stop', 'length', 'tool_calls', 'content_filter'] }) finish_reason: string;
}

/** OpenAI's chat completion; with `stream: true`, server-sent `chat.completion.chunk` events and `data: [DONE]`. */
export class ChatCompletionDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['chat.completion'] }) object: string;
  @ApiProperty({ description: 'Unix seconds' }) created: number;
  @ApiProperty({ description: 'The alias the call was routed by' }) model: string;
  @ApiProperty({ type: [ChatChoiceDto] }) choices: ChatChoiceDto[];
  @ApiPropertyOptional({ type: ChatUsageDto }) usage?: ChatUsageDto;
}

/** POST /embeddings, as OpenAI's API takes it (text inputs; `model` an alias, or `auto`/none for the tier's default). */
export const EMBEDDINGS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['input'],
  properties: {
    model: { type: 'string', minLength: 1, maxLength: 100 },
    input: {
      oneOf: [
        { type: 'string', minLength: 1, maxLength: 100_000 },
        { type: 'array', minItems: 1, maxItems: 2048, items: { type: 'string', minLength: 1, maxLength: 100_000 } },
      ],
    },
    encoding_format: { type: 'string', enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1, maximum: 2048 },
    user: { type: 'string', maxLength: 256 },
  },
} as const;

export type EmbeddingsBody = Omit<OpenAI.EmbeddingCreateParams, 'model' | 'input'> & {
  model?: string;
  input: string | string[];
};

export class EmbeddingDto {
  @ApiProperty({ enum: ['embedding'] }) object: string;
  @ApiProperty() index: number;
  @ApiProperty({
    oneOf: [{ type: 'array', items: { type: 'number' } }, { type: 'string' }],
    description: 'Floats, or base64 of little-endian float32 with encoding_format base64',
  })
  embedding: number[] | string;
}

export class EmbeddingUsageDto {
  @ApiProperty() prompt_tokens: number;
  @ApiProperty() total_tokens: number;
}

export class EmbeddingListDto {
  @ApiProperty({ enum: ['list'] }) object: string;
  @ApiProperty({ type: [EmbeddingDto] }) data: EmbeddingDto[];
  @ApiProperty({ description: 'The alias the call was routed by' }) model: string;
  @ApiProperty({ type: EmbeddingUsageDto }) usage: EmbeddingUsageDto;
}
