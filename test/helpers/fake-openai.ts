import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer as readAll } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import type OpenAI from 'openai';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, a multipart form's text fields as an object, or null when there was neither. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read whichever request field they check
  body: any;
  /** From `Authorization: Bearer …`. */
  apiKey: string | null;
}

export type Behaviour =
  | { kind: 'ok' }
  /** An OpenAI error body `{ error: { message, type, code } }`, with `Retry-After` when given. */
  | { kind: 'status'; status: number; retryAfterSeconds?: number; message?: string }
  /** Accept the request and never answer (until close). */
  | { kind: 'hang' }
  /** Stream chunks with a delay between them; a non-streamed answer comes after one delay. */
  | { kind: 'slow-stream'; chunkDelayMs: number }
  /** Send part of the answer, then destroy the socket. */
  | { kind: 'drop-mid-stream' };

export interface VideoOptions {
  /** Polls of a new video that answer in_progress (with rising progress) before it is finished (default 1). */
  pendingPolls?: number;
  /** Finish new videos as failed with this error instead of completed (default null: completed). */
  fail?: { code?: string; message?: string } | null;
}

export interface FakeOpenAI {
  /** Base URL including /v1, e.g. http://127.0.0.1:43123/v1 (what an OpenAI client takes as baseURL). */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /**
   * Behaviour for requests made with this API key (default {kind:'ok'}); `times` limits it to the next N such
   * requests, then back to ok (or to the behaviour behaveAll set).
   */
  behave(apiKey: string, behaviour: Behaviour, times?: number): void;
  /** Behaviour for every key (overridden by a key's own). */
  behaveAll(behaviour: Behaviour, times?: number): void;
  /** Keys the server accepts; any other key gets 401 invalid_api_key, before any behaviour. Default: every key is accepted. */
  acceptOnly(keys: string[] | null): void;
  /** How videos created from now on finish (merged into the options given before, until reset). */
  configureVideos(options: VideoOptions): void;
  /** Ends the pending polls of every unfinished video: each finishes (as configured when created) at its next poll. */
  finishVideos(): void;
  /** Forgets behaviours, accepted keys, video options, videos and recorded requests. */
  reset(): void;
  /** Stops the server and ends every open request, hanging ones included. */
  close(): Promise<void>;
}

type Reply =
  { status: number; contentType: string; body: Buffer; headers?: Record<string, string> } | { events: unknown[] };
type Rule = { behaviour: Behaviour; remaining: number };

const MODELS = ['fake-chat', 'fake-embedding', 'fake-image'];
const EMBEDDING_DIMENSIONS = 8;
const TOOL_ARGUMENTS = '{"ok":true}';
// A valid 1×1 RGBA PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/**
 * The content of a finished video: an MP4 `ftyp` box, then an `mdat` box holding the video's id, so each video's
 * bytes are its own and a download of the wrong one shows.
 */
export function videoBytes(id: string): Buffer {
  const box = (type: string, payload: Buffer) => {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(8 + payload.length, 0);
    header.write(type, 4, 'latin1');
    return Buffer.concat([header, payload]);
  };
  return Buffer.concat([
    box('ftyp', Buffer.from('isom\0\0\x02\0isommp41', 'latin1')),
    box('mdat', Buffer.from(id, 'latin1')),
  ]);
}

interface FakeVideo {
  video: OpenAI.Video;
  pendingPolls: number;
  polls: number;
  fail: { code: string; message: string } | null;
}

const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);
const now = (): number => Math.floor(Date.now() / 1000);

function json(status: number, value: unknown): Reply {
  return { status, contentType: 'application/json', body: Buffer.from(JSON.stringify(value)) };
}

// The error type and code OpenAI's API sends with these statuses.
const ERROR_KINDS: Record<number, [type: string, code: string | null]> = {
  401: ['invalid_request_error', 'invalid_api_key'],
  404: ['invalid_request_error', 'unknown_url'],
  429: ['requests', 'rate_limit_exceeded'],
};

function errorReply(status: number, message: string, headers?: Record<string, string>): Reply {
  const [type, code] = ERROR_KINDS[status] ?? [status >= 500 ? 'server_error' : 'invalid_request_error', null];
  return { ...json(status, { error: { message, type, param: null, code } }), headers };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((part: { type?: string }) => part.type === 'text')
    .map((part: { text: string }) => part.text)
    .join(' ');
}

/** Eight (or `dimensions`) floats in [-1, 1) derived from the text; float32-exact so base64 decodes to the same numbers. */
function embeddingOf(text: string, dimensions: number): number[] {
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 4 <= digest.length && values.length < dimensions; i += 4) {
      values.push(Math.fround(digest.readUInt32LE(i) / 2 ** 31 - 1));
    }
  }
  return values;
}

function float32Base64(values: number[]): string {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => buffer.writeFloatLE(value, i * 4));
  return buffer.toString('base64');
}

/** The function a request forces the model to call, if any: `tool_choice` 'required' or a named function. */
function forcedTool(body: OpenAI.ChatCompletionCreateParams): string | null {
  const choice = body.tool_choice;
  if (!body.tools?.length) return null;
  if (typeof choice === 'object' && choice.type === 'function') return choice.function.name;
  if (choice !== 'required') return null;
  return body.tools.find((tool) => tool.type === 'function')?.function.name ?? null;
}

function chatCompletion(body: OpenAI.ChatCompletionCreateParams, id: string): Reply {
  const messages = body.messages ?? [];
  const lastUser = messages.filter((m) => m.role === 'user').at(-1);
  const limit = body.max_completion_tokens ?? body.max_tokens;
  const full = words(`Fake reply to: ${textOf(lastUser?.content)}`);
  const replyWords = limit != null && full.length > limit ? full.slice(0, limit) : full;
  const toolName = forcedTool(body);
  const finishReason = toolName ? 'tool_calls' : replyWords.length < full.length ? 'length' : 'stop';
  const content = toolName ? null : replyWords.join(' ');
  const prompt = messages.reduce((sum, m) => sum + words(textOf(m.content)).length, 0);
  const completion = words(content ?? TOOL_ARGUMENTS).length;
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  const toolCall = { id: id.replace('chatcmpl', 'call'), type: 'function' as const };
  const base = { id, created: now(), model: body.model };

  if (!body.stream) {
    return json(200, {
      ...base,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          logprobs: null,
          finish_reason: finishReason,
          message: {
            role: 'assistant',
            content,
            refusal: null,
            ...(toolName && { tool_calls: [{ ...toolCall, function: { name: toolName, arguments: TOOL_ARGUMENTS } }] }),
          },
        },
      ],
      usage,
    } satisfies OpenAI.ChatCompletion);
  }

  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (
    delta: OpenAI.ChatCompletionChunk.Choice.Delta,
    finish: OpenAI.ChatCompletionChunk.Choice['finish_reason'] = null,
  ): OpenAI.ChatCompletionChunk => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...(includeUsage && { usage: null }),
  });
  const deltas: OpenAI.ChatCompletionChunk.Choice.Delta[] = toolName
    ? [
        { tool_calls: [{ index: 0, ...toolCall, function: { name: toolName, arguments: '' } }] },
        { tool_calls: [{ index: 0, function: { arguments: TOOL_ARGUMENTS } }] },
      ]
    : replyWords.map((word, i) => ({ content: i < replyWords.length - 1 ? `${word} ` : word }));
  const events: OpenAI.ChatCompletionChunk[] = [
    chunk({ role: 'assistant', content: toolName ? null : '' }),
    ...deltas.map((delta) => chunk(delta)),
    chunk({}, finishReason),
  ];
  if (includeUsage) events.push({ ...base, object: 'chat.completion.chunk', choices: [], usage });
  return { events };
}

function embeddings(body: OpenAI.EmbeddingCreateParams): Reply {
  const input = typeof body.input === 'string' ? [body.input] : body.input;
  if (!Array.isArray(input) || !input.every((item) => typeof item === 'string')) {
    return errorReply(400, "'input' must be a string or an array of strings.");
  }
  const base64 = body.encoding_format === 'base64';
  const tokens = input.reduce((sum, text) => sum + words(text).length, 0);
  return json(200, {
    object: 'list',
    model: body.model,
    data: input.map((text, index) => {
      const vector = embeddingOf(text, body.dimensions ?? EMBEDDING_DIMENSIONS);
      return { object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector };
    }),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

function images(body: OpenAI.ImageGenerateParams, origin: string): Reply {
  const item =
    body.response_format === 'url' ? { url: `${origin}/files/fake.png` } : { b64_json: PNG.toString('base64') };
  return json(200, {
    created: now(),
    data: Array.from({ length: body.n ?? 1 }, () => ({ ...item })),
  } satisfies OpenAI.ImagesResponse);
}

/** The body as JSON, or a multipart form's text fields (what the SDK sends to /videos); null when it is neither. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  try {
    const raw = await readAll(req);
    const contentType = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\b/i.test(contentType)) return JSON.parse(raw.toString('utf8'));
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const fields: Record<string, string> = {};
    form.forEach((value, name) => {
      if (typeof value === 'string') fields[name] = value;
    });
    return fields;
  } catch {
    return null;
  }
}

/** Writes and waits until the bytes reached the socket, so a following destroy cannot discard them. */
const flush = (res: ServerResponse, data: string | Buffer): Promise<void> =>
  new Promise((resolve) => res.write(data, () => resolve()));

async function deliver(res: ServerResponse, reply: Reply, behaviour: Behaviour, signal: AbortSignal): Promise<void> {
  const delayMs = behaviour.kind === 'slow-stream' ? behaviour.chunkDelayMs : 0;
  const drop = behaviour.kind === 'drop-mid-stream';
  if (!('events' in reply)) {
    if (delayMs) await sleep(delayMs, undefined, { signal });
    res.writeHead(reply.status, {
      ...reply.headers,
      'content-type': reply.contentType,
      'content-length': reply.body.length,
    });
    if (!drop) return void res.end(reply.body);
    await flush(res, reply.body.subarray(0, Math.floor(reply.body.length / 2)));
    return void res.destroy();
  }
  const frames = [...reply.events.map((event) => `data: ${JSON.stringify(event)}\n\n`), 'data: [DONE]\n\n'];
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const sent = drop ? Math.max(1, Math.floor(frames.length / 2)) : frames.length;
  for (let i = 0; i < sent; i++) {
    if (i > 0 && delayMs) await sleep(delayMs, undefined, { signal });
    await flush(res, frames[i]);
  }
  if (drop) res.destroy();
  else res.end();
}

/** A local stand-in for OpenAI's HTTP API on 127.0.0.1 that answers deterministically and fails on request. */
export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const keyRules = new Map<string, Rule>();
  let allRule: Rule | null = null;
  let accepted: Set<string> | null = null;
  let completions = 0;
  const defaultVideoOptions = { pendingPolls: 1, fail: null };
  let videoOptions: Required<VideoOptions> = { ...defaultVideoOptions };
  const videos = new Map<string, FakeVideo>();

  const takeBehaviour = (apiKey: string | null): Behaviour => {
    const keyRule = apiKey === null ? undefined : keyRules.get(apiKey);
    const rule = keyRule ?? allRule;
    if (!rule) return { kind: 'ok' };
    if (--rule.remaining <= 0) {
      if (keyRule) keyRules.delete(apiKey as string);
      else allRule = null;
    }
    return rule.behaviour;
  };

  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const createVideo = (body: Record<string, unknown>): Reply => {
    if (typeof body.prompt !== 'string' || body.prompt === '') {
      return errorReply(400, "Missing required parameter: 'prompt'.");
    }
    const { pendingPolls, fail } = videoOptions;
    const video: OpenAI.Video = {
      id: `video_${randomUUID().replaceAll('-', '')}`,
      object: 'video',
      status: 'queued',
      progress: 0,
      model: String(body.model ?? 'sora-2'),
      prompt: body.prompt,
      seconds: String(body.seconds ?? '4'),
      size: String(body.size ?? '720x1280') as OpenAI.VideoSize,
      created_at: now(),
      completed_at: null,
      expires_at: null,
      error: null,
      remixed_from_video_id: null,
    };
    const failure = fail && {
      code: fail.code ?? 'video_generation_failed',
      message: fail.message ?? 'Fake video failed.',
    };
    videos.set(video.id, { video, pendingPolls, polls: 0, fail: failure });
    return json(200, video);
  };

  const pollVideo = (id: string): Reply => {
    const entry = videos.get(id);
    if (!entry) return errorReply(404, `Video with id '${id}' not found.`);
    const { video } = entry;
    if (video.status === 'queued' || video.status === 'in_progress') {
      if (entry.polls < entry.pendingPolls) {
        entry.polls += 1;
        video.status = 'in_progress';
        // Rises with every poll, however many are pending, and reaches 100 only when completed.
        video.progress = Math.min(
          99,
          Math.max(entry.polls, Math.floor((entry.polls * 100) / (entry.pendingPolls + 1))),
        );
      } else if (entry.fail) {
        Object.assign(video, { status: 'failed', error: entry.fail, completed_at: now() });
      } else {
        Object.assign(video, { status: 'completed', progress: 100, completed_at: now(), expires_at: now() + 3600 });
      }
    }
    return json(200, video);
  };

  const videoContent = (id: string): Reply => {
    const entry = videos.get(id);
    if (!entry) return errorReply(404, `Video with id '${id}' not found.`);
    if (entry.video.status !== 'completed') {
      return errorReply(400, `Video is not ready yet (${entry.video.status}); check its status first.`);
    }
    return { status: 200, contentType: 'video/mp4', body: videoBytes(id) };
  };

  const route = (endpoint: string, body: unknown): Reply => {
    const parsed = body !== null && typeof body === 'object' ? body : null;
    const unparsable = errorReply(400, 'We could not parse the JSON body of your request.');
    switch (endpoint) {
      case 'GET /v1/models': {
        const data = MODELS.map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' }) satisfies OpenAI.Model);
        return json(200, { object: 'list', data });
      }
      case 'GET /files/fake.png':
        return { status: 200, contentType: 'image/png', body: PNG };
      case 'POST /v1/chat/completions':
        return parsed
          ? chatCompletion(parsed as OpenAI.ChatCompletionCreateParams, `chatcmpl-fake-${++completions}`)
          : unparsable;
      case 'POST /v1/embeddings':
        return parsed ? embeddings(parsed as OpenAI.EmbeddingCreateParams) : unparsable;
      case 'POST /v1/images/generations':
        return parsed ? images(parsed as OpenAI.ImageGenerateParams, origin) : unparsable;
      case 'POST /v1/videos':
        return parsed ? createVideo(parsed as Record<string, unknown>) : unparsable;
      default: {
        const video = /^GET \/v1\/videos\/([^/]+)(\/content)?$/.exec(endpoint);
        if (video) return video[2] ? videoContent(video[1]) : pollVideo(video[1]);
        return errorReply(404, `Invalid URL (${endpoint})`);
      }
    }
  };

  server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    try {
      const method = req.method ?? 'GET';
      const path = new URL(req.url ?? '/', origin).pathname;
      const apiKey = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? null;
      const body = await readBody(req);
      requests.push({ method, path, headers: { ...req.headers }, body, apiKey });

      // Image URLs are fetched without a key, as OpenAI's signed file URLs are.
      const needsKey = !path.startsWith('/files/');
      if (needsKey && accepted && (apiKey === null || !accepted.has(apiKey))) {
        return await deliver(res, errorReply(401, 'Incorrect API key provided.'), { kind: 'ok' }, controller.signal);
      }
      const behaviour = takeBehaviour(apiKey);
      if (behaviour.kind === 'hang') return;
      if (behaviour.kind === 'status') {
        const { status, message = `Fake upstream error ${status}.`, retryAfterSeconds } = behaviour;
        const headers = retryAfterSeconds === undefined ? undefined : { 'retry-after': String(retryAfterSeconds) };
        return await deliver(res, errorReply(status, message, headers), behaviour, controller.signal);
      }
      await deliver(res, route(`${method} ${path}`, body), behaviour, controller.signal);
    } catch {
      // The client went away (or the server closed) while the answer was being sent.
      res.destroy();
    }
  });

  const rule = (behaviour: Behaviour, times?: number): Rule => ({ behaviour, remaining: times ?? Infinity });
  return {
    url: `${origin}/v1`,
    requests,
    behave: (apiKey, behaviour, times) => void keyRules.set(apiKey, rule(behaviour, times)),
    behaveAll: (behaviour, times) => void (allRule = rule(behaviour, times)),
    acceptOnly: (keys) => void (accepted = keys && new Set(keys)),
    configureVideos: (options) => void (videoOptions = { ...videoOptions, ...options }),
    finishVideos: () => {
      for (const entry of videos.values()) entry.pendingPolls = entry.polls;
    },
    reset: () => {
      keyRules.clear();
      allRule = null;
      accepted = null;
      videoOptions = { ...defaultVideoOptions };
      videos.clear();
      requests.length = 0;
    },
    close: async () => {
      const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      server.closeAllConnections();
      await closed;
    },
  };
}
