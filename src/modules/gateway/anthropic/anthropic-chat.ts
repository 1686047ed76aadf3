import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { type Failure, retryAfterMs, safeMessage } from '../failure.js';

/**
 * OpenAI-shaped chat completions from Anthropic's Messages API: the request
 * translated to Anthropic's, the answer (whole or streamed) back to OpenAI's,
 * and the SDK's errors classified as the gateway classifies OpenAI's.
 */

/** Anthropic's API root, the default for providers of kind 'anthropic' (the SDK adds /v1/messages). */
export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
/** Anthropic requires an output limit; a request that sets none gets the gateway's usual assumption. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

const JSON_INSTRUCTION = 'Answer with one valid JSON object only, with no other text and no code fences.';
const IMAGE_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/**
 * A request Anthropic cannot serve as asked (n > 1, audio, custom tools, files
 * other than PDFs…). It is the caller's error: classifyAnthropic makes it a
 * rejection (400), so no other key or target is tried.
 */
export class AnthropicUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnthropicUnsupported';
  }
}

/** Request options the gateway passes to each call (its deadline, the client's abort). */
export type AnthropicCallOptions = Pick<Anthropic.RequestOptions, 'timeout' | 'signal'>;

/** A client for one key; the gateway does its own retries, on other keys. */
export function anthropicClient(apiKey: string, baseURL: string = ANTHROPIC_BASE_URL): Anthropic {
  // A root entered as for OpenAI (…/v1) would make the SDK call /v1/v1/messages.
  return new Anthropic({ apiKey, baseURL: baseURL.replace(/\/+$/, '').replace(/\/v1$/, ''), maxRetries: 0 });
}

/**
 * Throws AnthropicUnsupported for what Anthropic cannot answer at all: more
 * than one choice (n > 1), or audio output. anthropicRequest checks this
 * itself, and also refuses parts and tools it cannot translate.
 */
export function assertAnthropicSupports(body: OpenAI.ChatCompletionCreateParams): void {
  if (body.n != null && body.n !== 1) throw new AnthropicUnsupported('Anthropic supports n=1 only.');
  if (body.audio || body.modalities?.includes('audio')) {
    throw new AnthropicUnsupported('Anthropic answers in text only, not audio.');
  }
}

/**
 * Anthropic's Messages request for an OpenAI chat request, to be answered by `model`.
 * temperature and top_p are dropped: API version 2026-10-21 (the SDK's) has no sampling parameters.
 */
export function anthropicRequest(
  body: OpenAI.ChatCompletionCreateParams,
  model: string,
): Anthropic.MessageCreateParamsNonStreaming {
  assertAnthropicSupports(body);
  const system: Anthropic.TextBlockParam[] = [];
  const turns: { role: 'user' | 'assistant'; content: Anthropic.ContentBlockParam[] }[] = [];
  // Consecutive turns of one role become one: tool results answering one assistant turn must share a user turn.
  const append = (role: 'user' | 'assistant', blocks: Anthropic.ContentBlockParam[]): void => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  for (const message of body.messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textBlocks(message.content));
        break;
      case 'user':
        append('user', userBlocks(message.content));
        break;
      case 'assistant':
        append('assistant', assistantBlocks(message));
        break;
      case 'tool':
        append('user', [toolResult(message)]);
        break;
      default:
        throw new AnthropicUnsupported(`Anthropic does not accept ${message.role} messages; use tool messages.`);
    }
  }

  const format = outputFormat(body.response_format);
  if (!format && body.response_format && body.response_format.type !== 'text') {
    system.push({ type: 'text', text: JSON_INSTRUCTION });
  }
  const { tools, choice } = toolsOf(body);
  const stop = typeof body.stop === 'string' ? [body.stop] : (body.stop ?? []);
  const userId = body.safety_identifier ?? body.user;
  return {
    model,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    messages: turns,
    ...(system.length > 0 && { system }),
    ...(tools && { tools }),
    ...(choice && { tool_choice: choice }),
    ...(stop.length > 0 && { stop_sequences: stop }),
    ...(format && { output_config: { format } }),
    ...(userId && { metadata: { user_id: userId } }),
  };
}

/** anthropicRequest, streamed. */
export function anthropicStreamRequest(
  body: OpenAI.ChatCompletionCreateParams,
  model: string,
): Anthropic.MessageCreateParamsStreaming {
  return { ...anthropicRequest(body, model), stream: true };
}

/** OpenAI's chat completion for an Anthropic message; `created` in Unix seconds (Anthropic sends no time). */
export function openAiCompletion(message: Anthropic.Message, created: number): OpenAI.ChatCompletion {
  const text = message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
  const calls = message.content.flatMap((block): OpenAI.ChatCompletionMessageFunctionToolCall[] =>
    block.type === 'tool_use'
      ? [{ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input) } }]
      : [],
  );
  return {
    id: message.id,
    object: 'chat.completion',
    created,
    model: message.model,
    choices: [
      {
        index: 0,
        finish_reason: finishReason(message.stop_reason),
        logprobs: null,
        message: {
          role: 'assistant',
          content: text || calls.length === 0 ? text : null,
          refusal: null,
          ...(calls.length > 0 && { tool_calls: calls }),
        },
      },
    ],
    usage: usageOf(message.usage),
  };
}

/**
 * OpenAI's chunks for Anthropic's stream events (as `messages.create({…, stream: true})`
 * yields them): the role, text and tool call deltas, a finish chunk, then — as OpenAI does
 * with stream_options.include_usage — a last chunk with no choices and the usage.
 */
export async function* openAiChunks(
  events: AsyncIterable<Anthropic.RawMessageStreamEvent>,
  created: number,
): AsyncGenerator<OpenAI.ChatCompletionChunk> {
  let base: Pick<OpenAI.ChatCompletionChunk, 'id' | 'object' | 'created' | 'model'> | undefined;
  let usage: UsageCounts = { input_tokens: 0, output_tokens: 0 };
  // Anthropic numbers every content block; OpenAI numbers tool calls only.
  const toolIndexes = new Map<number, number>();
  const chunk = (
    delta: OpenAI.ChatCompletionChunk.Choice.Delta,
    finish: OpenAI.ChatCompletionChunk.Choice['finish_reason'] = null,
  ): OpenAI.ChatCompletionChunk => {
    if (!base) throw new Error('The Anthropic stream did not begin with message_start.');
    return { ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], usage: null };
  };

  for await (const event of events) {
    switch (event.type) {
      case 'message_start':
        base = { id: event.message.id, object: 'chat.completion.chunk', created, model: event.message.model };
        usage = event.message.usage;
        yield chunk({ role: 'assistant', content: '' });
        break;
      case 'content_block_start': {
        const block = event.content_block;
        if (block.type === 'tool_use') {
          const index = toolIndexes.size;
          toolIndexes.set(event.index, index);
          yield chunk({
            tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }],
          });
        } else if (block.type === 'text' && block.text) {
          yield chunk({ content: block.text });
        }
        break;
      }
      case 'content_block_delta': {
        const { delta } = event;
        const index = toolIndexes.get(event.index);
        if (delta.type === 'text_delta') yield chunk({ content: delta.text });
        else if (delta.type === 'input_json_delta' && index !== undefined && delta.partial_json) {
          yield chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] });
        }
        break;
      }
      case 'message_delta':
        // Its counts are cumulative; the input ones only when they changed.
        usage = {
          input_tokens: event.usage.input_tokens ?? usage.input_tokens,
          cache_creation_input_tokens: event.usage.cache_creation_input_tokens ?? usage.cache_creation_input_tokens,
          cache_read_input_tokens: event.usage.cache_read_input_tokens ?? usage.cache_read_input_tokens,
          output_tokens: event.usage.output_tokens,
        };
        if (event.delta.stop_reason) yield chunk({}, finishReason(event.delta.stop_reason));
        break;
    }
  }
  if (base) yield { ...base, choices: [], usage: usageOf(usage) };
}

/** A chat completion from Anthropic; SDK errors (and AnthropicUnsupported) propagate for classifyAnthropic. */
export async function anthropicChat(
  client: Anthropic,
  body: OpenAI.ChatCompletionCreateParams,
  model: string,
  options: AnthropicCallOptions,
  created: number,
): Promise<OpenAI.ChatCompletion> {
  return openAiCompletion(await client.messages.create(anthropicRequest(body, model), options), created);
}

/**
 * A streamed chat completion from Anthropic. It resolves once the upstream has
 * answered, so a refused call fails here (and can be retried) rather than mid-stream.
 */
export async function anthropicChatStream(
  client: Anthropic,
  body: OpenAI.ChatCompletionCreateParams,
  model: string,
  options: AnthropicCallOptions,
  created: number,
): Promise<AsyncIterable<OpenAI.ChatCompletionChunk>> {
  return openAiChunks(await client.messages.create(anthropicStreamRequest(body, model), options), created);
}

/**
 * Classifies an error of the Anthropic SDK as `classify` does the OpenAI SDK's:
 * aborted; retry (timeouts, connection errors, 408/409/429/5xx and 529 overloaded,
 * with Retry-After); refused-key (401/403); rejected (other statuses, and requests
 * that cannot be translated or sent). Null for an error that is not the SDK's.
 */
export function classifyAnthropic(err: unknown): Failure | null {
  if (err instanceof AnthropicUnsupported) return { kind: 'rejected', message: err.message, status: 400 };
  if (err instanceof Anthropic.APIUserAbortError) return { kind: 'aborted' };
  if (err instanceof Anthropic.APIConnectionTimeoutError) {
    return { kind: 'retry', message: 'The upstream timed out', timeout: true };
  }
  if (err instanceof Anthropic.APIConnectionError) {
    return { kind: 'retry', message: `The upstream is unreachable: ${safeMessage(err.message)}`, timeout: false };
  }
  if (err instanceof Anthropic.APIError) {
    const { status } = err;
    // With a status, the SDK's own message is the whole error body as JSON: the body's message reads better.
    const message = safeMessage(err.apiMessage !== null && status ? `${status} ${err.apiMessage}` : err.message);
    // No status: an error event in a stream that had started (overloaded, or an internal error).
    if (status === undefined) return { kind: 'retry', message, timeout: false };
    if (status === 401 || status === 403) return { kind: 'refused-key', message, status };
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      return { kind: 'retry', message, status, retryAfterMs: retryAfterMs(err.headers), timeout: false };
    }
    return { kind: 'rejected', message, status };
  }
  // The SDK's own checks of a request before sending it (such as a non-streamed call too long to wait for).
  if (err instanceof Anthropic.AnthropicError)
    return { kind: 'rejected', message: safeMessage(err.message), status: 400 };
  return null;
}

/** Anthropic's token counts, as a message and a stream's message_delta events carry them. */
interface UsageCounts {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** OpenAI counts cached prompt tokens in prompt_tokens; Anthropic counts them apart. */
function usageOf(usage: UsageCounts): OpenAI.CompletionUsage {
  const cached = usage.cache_read_input_tokens ?? 0;
  const prompt = usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + cached;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: cached },
  };
}

function finishReason(reason: Anthropic.StopReason | null): OpenAI.ChatCompletion.Choice['finish_reason'] {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** Non-empty text parts as text blocks (Anthropic refuses empty ones). */
function textBlocks(content: string | { type: string; text?: string; refusal?: string }[]): Anthropic.TextBlockParam[] {
  const texts = typeof content === 'string' ? [content] : content.map((part) => part.text ?? part.refusal ?? '');
  return texts.filter((text) => text !== '').map((text) => ({ type: 'text', text }));
}

function userBlocks(content: OpenAI.ChatCompletionUserMessageParam['content']): Anthropic.ContentBlockParam[] {
  if (typeof content === 'string') return textBlocks(content);
  return content.flatMap((part): Anthropic.ContentBlockParam[] => {
    switch (part.type) {
      case 'text':
        return textBlocks(part.text);
      case 'image_url':
        return [imageBlock(part.image_url.url)];
      case 'file':
        return [documentBlock(part.file)];
      default:
        throw new AnthropicUnsupported(`Anthropic does not accept ${part.type} content.`);
    }
  });
}

function imageBlock(url: string): Anthropic.ImageBlockParam {
  const inline = dataUrl(url);
  if (inline) {
    // image/jpg is a common misspelling that Anthropic refuses.
    const mediaType = inline.mediaType === 'image/jpg' ? 'image/jpeg' : inline.mediaType;
    if (!IMAGE_TYPES.has(mediaType)) {
      throw new AnthropicUnsupported(`Anthropic accepts JPEG, PNG, GIF and WebP images, not ${mediaType}.`);
    }
    const media_type = mediaType as Anthropic.Base64ImageSource['media_type'];
    return { type: 'image', source: { type: 'base64', media_type, data: inline.data } };
  }
  if (/^https?:\/\//i.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw new AnthropicUnsupported('An image must be an http(s) URL or a base64 data: URL.');
}

function documentBlock(file: OpenAI.ChatCompletionContentPart.File.File): Anthropic.DocumentBlockParam {
  const inline = file.file_data === undefined ? null : dataUrl(file.file_data);
  if (inline?.mediaType !== 'application/pdf') {
    throw new AnthropicUnsupported('Anthropic accepts files only as PDF data: URLs in file_data.');
  }
  return {
    type: 'document',
    source: { type: 'base64', media_type: 'application/pdf', data: inline.data },
    ...(file.filename && { title: file.filename }),
  };
}

/** The media type and base64 data of a `data:<type>;base64,<data>` URL. */
function dataUrl(url: string): { mediaType: string; data: string } | null {
  const comma = url.indexOf(',');
  const header = /^data:([^;,]+);base64$/i.exec(url.slice(0, comma));
  return comma < 0 || !header ? null : { mediaType: header[1].toLowerCase(), data: url.slice(comma + 1) };
}

function assistantBlocks(message: OpenAI.ChatCompletionAssistantMessageParam): Anthropic.ContentBlockParam[] {
  const blocks: Anthropic.ContentBlockParam[] = message.content ? textBlocks(message.content) : [];
  for (const call of message.tool_calls ?? []) {
    if (call.type !== 'function') throw new AnthropicUnsupported('Anthropic supports function tool calls only.');
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call) });
  }
  return blocks;
}

/** A call's arguments as the object Anthropic requires for tool_use input. */
function toolInput(call: OpenAI.ChatCompletionMessageFunctionToolCall): Record<string, unknown> {
  const args = call.function.arguments.trim();
  if (args === '') return {};
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    input = undefined;
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AnthropicUnsupported(`The arguments of tool call ${call.id} must be a JSON object for Anthropic.`);
  }
  return input as Record<string, unknown>;
}

function toolResult(message: OpenAI.ChatCompletionToolMessageParam): Anthropic.ToolResultBlockParam {
  const content = typeof message.content === 'string' ? message.content : textBlocks(message.content);
  return { type: 'tool_result', tool_use_id: message.tool_call_id, ...(content.length > 0 && { content }) };
}

/** Structured output when a schema is given; json_object (no schema) is asked for in the system prompt. */
function outputFormat(format: OpenAI.ChatCompletionCreateParams['response_format']): Anthropic.JSONOutputFormat | null {
  if (format?.type !== 'json_schema' || !format.json_schema.schema) return null;
  return { type: 'json_schema', schema: format.json_schema.schema };
}

/** The function tools (only those allowed_tools allows) and the tool choice. */
function toolsOf(body: OpenAI.ChatCompletionCreateParams): { tools?: Anthropic.Tool[]; choice?: Anthropic.ToolChoice } {
  if (!body.tools?.length) return {};
  const choice = body.tool_choice;
  if (typeof choice === 'object' && choice.type === 'custom') {
    throw new AnthropicUnsupported('Anthropic supports function tools only.');
  }
  const allowed =
    typeof choice === 'object' && choice.type === 'allowed_tools'
      ? new Set(choice.allowed_tools.tools.map((tool) => (tool as { function?: { name?: string } }).function?.name))
      : null;
  const tools = body.tools
    .map((tool): Anthropic.Tool => {
      if (tool.type !== 'function') throw new AnthropicUnsupported('Anthropic supports function tools only.');
      const { name, description, parameters, strict } = tool.function;
      return {
        name,
        ...(description && { description }),
        input_schema: { ...parameters, type: 'object' },
        ...(typeof strict === 'boolean' && { strict }),
      };
    })
    .filter((tool) => !allowed || allowed.has(tool.name));
  const single = body.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
  if (choice === 'none') return { tools, choice: { type: 'none' } };
  if (choice === 'required') return { tools, choice: { type: 'any', ...single } };
  if (typeof choice === 'object' && choice.type === 'function') {
    return { tools, choice: { type: 'tool', name: choice.function.name, ...single } };
  }
  if (typeof choice === 'object' && choice.type === 'allowed_tools' && choice.allowed_tools.mode === 'required') {
    return { tools, choice: { type: 'any', ...single } };
  }
  return { tools, choice: choice || body.parallel_tool_calls === false ? { type: 'auto', ...single } : undefined };
}
