import { createHash } from 'node:crypto';
import gifenc from 'gifenc';
import { countTokens as countO200kTokens, decode, encode } from 'gpt-tokenizer/encoding/o200k_base';
import type OpenAI from 'openai';
import { PNG } from 'pngjs';

/**
 * The built-in offline provider: deterministic stand-ins for chat, embeddings, images and video,
 * so the gateway works (and can be tested) without any external provider.
 */
export const LOCAL_MODELS = {
  chat: 'local-chat',
  embedding: 'local-embedding',
  image: 'local-image',
  video: 'local-video',
} as const;

// OpenAI's approximate accounting of chat framing tokens.
const MESSAGE_OVERHEAD = 3;
const REPLY_OVERHEAD = 3;
const EXCERPT_CHARS = 60;
// OpenAI's own limit.
const MAX_CHOICES = 128;
const TOKENS_PER_DELTA = 4;
const DEFAULT_DIMENSIONS = 256;
const MAX_DIMENSIONS = 2048;
const VIDEO_FPS = 4;
const MAX_VIDEO_FRAMES = 24;
const VIDEO_COLOURS = 16;

// A prime count, so start/step walks give 110 distinct choices (see fillerReply); beyond that they may repeat.
const FILLER = [
  'This answer comes from the built-in local model, which runs offline.',
  'The same conversation always gets the same reply.',
  'No external provider was called to write this text.',
  'Choose a hosted model to get a real answer.',
  'The token counts in the usage block are exact for this reply.',
  'The local model is meant for development, tests and demos.',
  'Replies stay short so that previews and tests run quickly.',
  'Streaming sends this text a few tokens at a time.',
  'Images and videos from the local models are generated patterns.',
  'Nothing in this reply depends on the time of day.',
  'Limits, quotas and billing apply to it like any other model.',
];

/** Tokens of a text (gpt-tokenizer's o200k_base encoding). */
export function countTokens(text: string): number {
  return countO200kTokens(text);
}

/**
 * Prompt tokens of chat messages as OpenAI counts them approximately: each message's text
 * (string content, text parts, tool call names and arguments) plus a fixed overhead per message
 * and per reply.
 */
export function promptTokens(messages: OpenAI.ChatCompletionMessageParam[]): number {
  return messages.reduce(
    (sum, message) =>
      sum + MESSAGE_OVERHEAD + countTokens(textOf(message.content)) + countTokens(toolCallText(message)),
    REPLY_OVERHEAD,
  );
}

/** A chat completion whose content depends only on the request (and `now` for `created`). */
export function localChat(body: OpenAI.ChatCompletionCreateParams, now: Date): OpenAI.ChatCompletion {
  const choices = localChoices(body);
  return {
    id: completionId(body, now),
    object: 'chat.completion',
    created: unixSeconds(now),
    model: body.model,
    choices: choices.map((choice) => ({
      index: choice.index,
      finish_reason: choice.finishReason,
      logprobs: null,
      message: {
        role: 'assistant',
        content: choice.content,
        refusal: null,
        ...(choice.toolCall ? { tool_calls: [choice.toolCall] } : {}),
      },
    })),
    usage: usageOf(body, choices),
  };
}

/** localChat as stream chunks: concatenated content deltas equal localChat's content for the same body. */
export function localChatChunks(body: OpenAI.ChatCompletionCreateParams, now: Date): OpenAI.ChatCompletionChunk[] {
  const choices = localChoices(body);
  const includeUsage = body.stream_options?.include_usage === true;
  const base = {
    id: completionId(body, now),
    object: 'chat.completion.chunk' as const,
    created: unixSeconds(now),
    model: body.model,
  };
  // With include_usage OpenAI sends `usage: null` on every chunk but the last.
  const chunk = (
    index: number,
    delta: OpenAI.ChatCompletionChunk.Choice.Delta,
    finishReason: OpenAI.ChatCompletionChunk.Choice['finish_reason'] = null,
  ): OpenAI.ChatCompletionChunk => ({
    ...base,
    choices: [{ index, delta, finish_reason: finishReason, logprobs: null }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const chunks = choices.flatMap(({ index, content, toolCall, finishReason }) => {
    if (toolCall) {
      const { id, type, function: fn } = toolCall;
      return [
        chunk(index, {
          role: 'assistant',
          content: null,
          tool_calls: [{ index: 0, id, type, function: { name: fn.name, arguments: '' } }],
        }),
        chunk(index, { tool_calls: [{ index: 0, function: { arguments: fn.arguments } }] }),
        chunk(index, {}, finishReason),
      ];
    }
    return [
      chunk(index, { role: 'assistant', content: '' }),
      ...deltas(content ?? '').map((piece) => chunk(index, { content: piece })),
      chunk(index, {}, finishReason),
    ];
  });
  if (includeUsage) chunks.push({ ...base, choices: [], usage: usageOf(body, choices) });
  return chunks;
}

/**
 * Embeddings by feature hashing of lower-cased words and character trigrams, L2-normalised, so
 * texts sharing words are clearly closer than unrelated ones. Token-array inputs are refused.
 */
export function localEmbeddings(body: OpenAI.EmbeddingCreateParams): OpenAI.CreateEmbeddingResponse {
  const inputs = textInputs(body.input);
  const dimensions = body.dimensions ?? DEFAULT_DIMENSIONS;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw new RangeError(`dimensions must be an integer from 1 to ${MAX_DIMENSIONS}`);
  }
  const tokens = inputs.reduce((sum, text) => sum + countTokens(text), 0);
  return {
    object: 'list',
    model: body.model,
    data: inputs.map((text, index) => {
      const vector = embed(text, dimensions);
      // OpenAI's base64 format is a string in place of the number array its types declare.
      const embedding =
        body.encoding_format === 'base64' ? (base64Of(vector) as unknown as number[]) : Array.from(vector);
      return { object: 'embedding', index, embedding };
    }),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** A PNG of width×height: diagonal bands blending two colours taken from a hash of the prompt. */
export function localImage(prompt: string, width: number, height: number): Buffer {
  assertSize('width', width, 64, 2048);
  assertSize('height', height, 64, 2048);
  const seed = digest(prompt);
  const [from, to] = [seed.subarray(0, 3), seed.subarray(3, 6)];
  const period = 24 + (seed[6] % 72);
  const slope = 1 + (seed[7] % 3);
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (triangle(x + slope * y, period) + y / (height - 1)) / 2;
      const offset = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) png.data[offset + c] = Math.round(from[c] + (to[c] - from[c]) * t);
      png.data[offset + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** An edit of a PNG: the picture kept, half-blended with the prompt's bands, at the picture's size. */
export function localImageEdit(image: Buffer, prompt: string): Buffer {
  // The header's size is checked before decoding, so a small file cannot unpack into a huge picture.
  if (image.length >= 24) {
    assertSize('width', image.readUInt32BE(16), 64, 2048);
    assertSize('height', image.readUInt32BE(20), 64, 2048);
  }
  let source: PNG;
  try {
    source = PNG.sync.read(image);
  } catch {
    throw new RangeError(`${LOCAL_MODELS.image} edits PNG images only`);
  }
  const overlay = PNG.sync.read(localImage(prompt, source.width, source.height));
  const out = new PNG({ width: source.width, height: source.height });
  for (let i = 0; i < out.data.length; i += 4) {
    for (let c = 0; c < 3; c++) out.data[i + c] = (source.data[i + c] + overlay.data[i + c]) >> 1;
    out.data[i + 3] = 255;
  }
  return PNG.sync.write(out);
}

/**
 * A looping animated GIF of bands sliding across the frame, coloured from a hash of the prompt:
 * VIDEO_FPS frames per second of `seconds`, at most MAX_VIDEO_FRAMES so it stays small and fast.
 */
export function localVideo(prompt: string, seconds: number, width: number, height: number): Buffer {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError('seconds must be a positive number');
  assertSize('width', width, 64, 1024);
  assertSize('height', height, 64, 1024);
  const frames = videoFrames(seconds);
  const seed = digest(prompt);
  const [from, to] = [seed.subarray(0, 3), seed.subarray(3, 6)];
  const palette = Array.from({ length: VIDEO_COLOURS }, (_, i) =>
    [0, 1, 2].map((c) => Math.round(from[c] + ((to[c] - from[c]) * i) / (VIDEO_COLOURS - 1))),
  );
  const period = 16 + (seed[6] % 48);
  const slope = 1 + (seed[7] % 3);
  const gif = gifenc.GIFEncoder();
  const pixels = new Uint8Array(width * height);
  for (let frame = 0; frame < frames; frame++) {
    // One full band period per loop, so the last frame leads smoothly back to the first.
    const shift = Math.round((2 * period * frame) / frames);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        pixels[y * width + x] = Math.round(triangle(x + slope * y + shift, period) * (VIDEO_COLOURS - 1));
      }
    }
    gif.writeFrame(pixels, width, height, { palette, delay: 1000 / VIDEO_FPS, repeat: 0 });
  }
  gif.finish();
  return Buffer.from(gif.bytes());
}

/** Frames localVideo encodes for a duration. */
function videoFrames(seconds: number): number {
  return Math.min(MAX_VIDEO_FRAMES, Math.max(1, Math.round(seconds * VIDEO_FPS)));
}

interface LocalChoice {
  index: number;
  content: string | null;
  toolCall?: OpenAI.ChatCompletionMessageFunctionToolCall;
  finishReason: 'stop' | 'length' | 'tool_calls';
  completionTokens: number;
}

function localChoices(body: OpenAI.ChatCompletionCreateParams): LocalChoice[] {
  const conversation = JSON.stringify(body.messages);
  const toolName = forcedToolName(body);
  const limit = body.max_completion_tokens ?? body.max_tokens ?? null;
  const json = body.response_format?.type === 'json_object' || body.response_format?.type === 'json_schema';
  const n = body.n ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CHOICES)
    throw new RangeError(`n must be an integer from 1 to ${MAX_CHOICES}`);
  return Array.from({ length: n }, (_, index): LocalChoice => {
    if (toolName !== undefined) {
      const id = `call_local_${hex(`${conversation}#${index}`)}`;
      const toolCall = { id, type: 'function' as const, function: { name: toolName, arguments: '{}' } };
      const completionTokens = countTokens(toolName) + countTokens(toolCall.function.arguments);
      return { index, content: null, toolCall, finishReason: 'tool_calls', completionTokens };
    }
    const reply = fillerReply(lastUserText(body.messages), conversation, index);
    const text = json ? JSON.stringify({ reply }) : reply;
    const tokens = encode(text);
    if (limit === null || tokens.length <= limit) {
      return { index, content: text, finishReason: 'stop', completionTokens: tokens.length };
    }
    return { index, content: decodePrefix(tokens, limit), finishReason: 'length', completionTokens: limit };
  });
}

/**
 * The reply text: an echo of the last user message, then filler sentences until a length of
 * roughly 30–60 tokens. Each choice starts from its own (start, step) walk through FILLER and
 * takes at least two sentences, so choices differ from one another.
 */
function fillerReply(userText: string, conversation: string, index: number): string {
  const excerpt = Array.from(userText.replace(/\s+/g, ' ').trim()).slice(0, EXCERPT_CHARS).join('') || '(no text)';
  const seed = fnv1a(conversation);
  const target = 30 + (seed % 16);
  const start = (seed + index) % FILLER.length;
  const step = 1 + (Math.floor(index / FILLER.length) % (FILLER.length - 1));
  let text = `Local model reply to: "${excerpt}".`;
  for (let used = 0; used < FILLER.length && (used < 2 || countTokens(text) < target); used++) {
    text += ` ${FILLER[(start + used * step) % FILLER.length]}`;
  }
  return text;
}

// gpt-tokenizer decodes through one shared streaming TextDecoder: a prefix that ends inside a
// multi-byte character leaves those bytes buffered there, so decode the rest too to drain them.
function decodePrefix(tokens: number[], count: number): string {
  const head = decode(tokens.slice(0, count));
  decode(tokens.slice(count));
  return head;
}

function forcedToolName(body: OpenAI.ChatCompletionCreateParams): string | undefined {
  const functions = (body.tools ?? []).filter((tool) => tool.type === 'function');
  if (functions.length === 0) return undefined;
  const choice = body.tool_choice;
  if (choice === 'required') return functions[0].function.name;
  if (typeof choice === 'object' && choice.type === 'function') return choice.function.name;
  return undefined;
}

function usageOf(body: OpenAI.ChatCompletionCreateParams, choices: LocalChoice[]): OpenAI.CompletionUsage {
  const prompt = promptTokens(body.messages);
  const completion = choices.reduce((sum, choice) => sum + choice.completionTokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function lastUserText(messages: OpenAI.ChatCompletionMessageParam[]): string {
  const last = messages.findLast((message) => message.role === 'user');
  return last ? textOf(last.content) : '';
}

function textOf(content: OpenAI.ChatCompletionMessageParam['content']): string {
  if (typeof content === 'string') return content;
  const texts: string[] = [];
  for (const part of content ?? []) if (part.type === 'text') texts.push(part.text);
  return texts.join('\n');
}

function toolCallText(message: OpenAI.ChatCompletionMessageParam): string {
  if (message.role !== 'assistant') return '';
  return (message.tool_calls ?? [])
    .map((call) =>
      call.type === 'function' ? call.function.name + call.function.arguments : call.custom.name + call.custom.input,
    )
    .join('');
}

/** Splits text at word starts into pieces of at least TOKENS_PER_DELTA tokens (the last may be shorter). */
function deltas(text: string): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (const word of text.split(/(?<=\s)(?=\S)/)) {
    piece += word;
    if (countTokens(piece) >= TOKENS_PER_DELTA) {
      pieces.push(piece);
      piece = '';
    }
  }
  if (piece) pieces.push(piece);
  return pieces;
}

function textInputs(input: OpenAI.EmbeddingCreateParams['input']): string[] {
  const inputs = typeof input === 'string' ? [input] : input;
  if (inputs.length === 0) throw new Error('input must not be empty');
  if (!inputs.every((item): item is string => typeof item === 'string')) {
    throw new Error(`${LOCAL_MODELS.embedding} accepts text input only, not token arrays`);
  }
  return inputs;
}

function embed(text: string, dimensions: number): Float32Array {
  const sums = new Float64Array(dimensions);
  // The top hash bit picks the sign, so colliding features cancel out on average instead of piling up.
  const add = (feature: string, weight: number): void => {
    const hash = fnv1a(feature);
    sums[hash % dimensions] += hash & 0x80000000 ? -weight : weight;
  };
  const lower = text.toLowerCase();
  for (const word of lower.match(/[\p{L}\p{N}]+/gu) ?? []) add(`w:${word}`, 1);
  const chars = Array.from(` ${lower.replace(/\s+/g, ' ').trim()} `);
  for (let i = 0; i + 3 <= chars.length; i++) add(`t:${chars.slice(i, i + 3).join('')}`, 0.5);

  const norm = Math.hypot(...sums);
  // Blank text has no features: a fixed unit vector keeps every embedding normalised.
  if (norm === 0) return Float32Array.from(sums, (_, i) => (i === 0 ? 1 : 0));
  return Float32Array.from(sums, (value) => value / norm);
}

function base64Of(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}

function assertSize(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}`);
  }
}

/** 0 → 1 → 0 over 2·period; plain arithmetic rather than trigonometry, so every platform draws the same pixels. */
function triangle(position: number, period: number): number {
  const phase = position % (2 * period);
  return phase < period ? phase / period : 2 - phase / period;
}

function completionId(body: OpenAI.ChatCompletionCreateParams, now: Date): string {
  return `chatcmpl-local-${hex(`${unixSeconds(now)}:${JSON.stringify(body)}`)}`;
}

const unixSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);
const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
const hex = (text: string): string => digest(text).toString('hex').slice(0, 24);

/** FNV-1a, 32-bit, over UTF-16 code units: fast enough to hash every embedding feature. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
