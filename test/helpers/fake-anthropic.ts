import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { json as readJson } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import type Anthropic from '@anthropic-ai/sdk';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or null when there was none or it was not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read whichever request field they check
  body: any;
  /** From `x-api-key`, or `Authorization: Bearer …` (how the SDK sends an API key). */
  apiKey: string | null;
}

export type Behaviour =
  | { kind: 'ok' }
  /** An Anthropic error body `{ type: 'error', error: { type, message } }`, with `Retry-After` when given. */
  | { kind: 'status'; status: number; retryAfterSeconds?: number; message?: string }
  /** Accept the request and never answer (until close). */
  | { kind: 'hang' }
  /** Stream events with a delay between them; a non-streamed answer comes after one delay. */
  | { kind: 'slow-stream'; chunkDelayMs: number }
  /** Send part of the answer, then destroy the socket. */
  | { kind: 'drop-mid-stream' };

export interface FakeAnthropic {
  /** The server root, e.g. http://127.0.0.1:43123 (what an Anthropic client takes as baseURL; it adds /v1/…). */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /**
   * Behaviour for requests made with this API key (default {kind:'ok'}); `times` limits it to the next N such
   * requests, then back to ok (or to the behaviour behaveAll set).
   */
  behave(apiKey: string, behaviour: Behaviour, times?: number): void;
  /** Behaviour for every key (overridden by a key's own). */
  behaveAll(behaviour: Behaviour, times?: number): void;
  /**
   * Keys the server accepts; any other key gets 401 authentication_error, before any behaviour. Default: every key
   * is accepted (a request with no key is always refused).
   */
  acceptOnly(keys: string[] | null): void;
  /** Forgets behaviours, accepted keys and recorded requests. */
  reset(): void;
  /** Stops the server and ends every open request, hanging ones included. */
  close(): Promise<void>;
}

/** Named server-sent events, as Anthropic streams them. */
type StreamEvent = Anthropic.RawMessageStreamEvent | { type: 'ping' };
type Reply =
  { status: number; contentType: string; body: Buffer; headers?: Record<string, string> } | { events: StreamEvent[] };
type Rule = { behaviour: Behaviour; remaining: number };

/** What a forced tool call passes; streamed in two pieces, so clients must join the partial JSON. */
export const FAKE_TOOL_INPUT = { ok: true };
const TOOL_INPUT_PIECES = ['{"ok":', 'true}'];
const MODELS = ['fake-claude'];

const words = (text: string): string[] => text.split(/\s+/).filter(Boolean);

function json(status: number, value: unknown): Reply {
  return { status, contentType: 'application/json', body: Buffer.from(JSON.stringify(value)) };
}

// The error type Anthropic's API sends with these statuses.
const ERROR_TYPES: Record<number, Anthropic.ErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  429: 'rate_limit_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

function errorReply(status: number, message: string, headers?: Record<string, string>): Reply {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  return { ...json(status, { type: 'error', error: { type, message } }), headers };
}

/** The text of a message's content: text blocks, and the text of tool results. */
function textOf(content: Anthropic.MessageParam['content']): string {
  if (typeof content === 'string') return content;
  return content
    .map((block) => {
      if (block.type === 'text') return block.text;
      if (block.type === 'tool_result') return typeof block.content === 'string' ? block.content : '';
      return '';
    })
    .join(' ');
}

function systemText(system: Anthropic.MessageCreateParams['system']): string {
  if (system === undefined) return '';
  return typeof system === 'string' ? system : system.map((block) => block.text).join(' ');
}

/** Why the API would refuse the request (a few of its checks), or null. */
function invalid(body: Anthropic.MessageCreateParams): string | null {
  if (typeof body.model !== 'string') return 'model: Field required';
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) return 'max_tokens: Field required';
  if (!Array.isArray(body.messages) || body.messages.length === 0) return 'messages: at least one message is required';
  for (const [i, message] of body.messages.entries()) {
    if (message.role !== 'user' && message.role !== 'assistant') {
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    }
    if (typeof message.content === 'string') continue;
    const previous = body.messages[i - 1];
    const used = new Set(
      previous?.role === 'assistant' && Array.isArray(previous.content)
        ? previous.content.flatMap((block) => (block.type === 'tool_use' ? [block.id] : []))
        : [],
    );
    for (const block of message.content) {
      if (block.type === 'text' && block.text === '') return `messages.${i}: text content blocks must be non-empty`;
      if (block.type === 'tool_result' && !used.has(block.tool_use_id)) {
        return `messages.${i}: unexpected tool_use_id found in tool_result blocks: ${block.tool_use_id}. Each tool_result block must have a corresponding tool_use block in the previous message.`;
      }
    }
  }
  return null;
}

/** The tool the request forces: tool_choice `any` (the first tool) or a named `tool`. */
function forcedTool(body: Anthropic.MessageCreateParams): string | null {
  const tools = (body.tools ?? []).filter((tool) => 'input_schema' in tool);
  const choice = body.tool_choice;
  if (tools.length === 0 || !choice) return null;
  if (choice.type === 'tool') return choice.name;
  return choice.type === 'any' ? tools[0].name : null;
}

/**
 * The answer: "Fake reply to: <last user text>" (as JSON under output_config.format), cut at the first stop
 * sequence or at max_tokens words; or a call of the forced tool. Tokens are words.
 */
function messageReply(body: Anthropic.MessageCreateParams, id: string): Reply {
  const lastUser = body.messages.findLast((message) => message.role === 'user');
  const reply = `Fake reply to: ${lastUser ? textOf(lastUser.content) : ''}`.trim();
  let text = body.output_config?.format ? JSON.stringify({ reply }) : reply;
  let stopReason: Anthropic.StopReason = 'end_turn';
  let stopSequence: string | null = null;
  for (const sequence of body.stop_sequences ?? []) {
    const at = text.indexOf(sequence);
    if (at >= 0 && (stopSequence === null || at < text.indexOf(stopSequence))) stopSequence = sequence;
  }
  if (stopSequence !== null) {
    text = text.slice(0, text.indexOf(stopSequence)).trimEnd();
    stopReason = 'stop_sequence';
  }
  let pieces = words(text);
  if (pieces.length > body.max_tokens) {
    pieces = pieces.slice(0, body.max_tokens);
    [stopReason, stopSequence] = ['max_tokens', null];
  }
  const toolName = forcedTool(body);
  if (toolName) [stopReason, stopSequence] = ['tool_use', null];

  const inputTokens =
    words(systemText(body.system)).length +
    body.messages.reduce((sum, message) => sum + words(textOf(message.content)).length, 0);
  const outputTokens = toolName ? TOOL_INPUT_PIECES.length : pieces.length;
  const usage: Anthropic.Usage = {
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: null,
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: null,
  };
  const toolUse: Anthropic.ToolUseBlock | null = toolName
    ? {
        type: 'tool_use',
        id: id.replace('msg', 'toolu'),
        name: toolName,
        input: FAKE_TOOL_INPUT,
        caller: { type: 'direct' },
      }
    : null;
  const message: Anthropic.Message = {
    id,
    type: 'message',
    role: 'assistant',
    model: body.model,
    content: toolUse ? [toolUse] : [{ type: 'text', text: pieces.join(' '), citations: null }],
    stop_reason: stopReason,
    stop_sequence: stopSequence,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage,
  };
  if (!body.stream) return json(200, message);

  const deltas: Anthropic.RawContentBlockDelta[] = toolUse
    ? TOOL_INPUT_PIECES.map((partial_json) => ({ type: 'input_json_delta', partial_json }))
    : pieces.map((word, i) => ({ type: 'text_delta', text: i < pieces.length - 1 ? `${word} ` : word }));
  const { output_tokens: _output, ...startUsage } = usage;
  return {
    events: [
      {
        type: 'message_start',
        message: {
          ...message,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...startUsage, output_tokens: 1 },
        },
      },
      {
        type: 'content_block_start',
        index: 0,
        content_block: toolUse ? { ...toolUse, input: {} } : { type: 'text', text: '', citations: null },
      },
      { type: 'ping' },
      ...deltas.map((delta): StreamEvent => ({ type: 'content_block_delta', index: 0, delta })),
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: stopReason, stop_sequence: stopSequence, stop_details: null, container: null },
        usage: {
          input_tokens: inputTokens,
          output_tokens: outputTokens,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens_details: null,
          server_tool_use: null,
        },
      },
      { type: 'message_stop' },
    ],
  };
}

/** The parsed JSON body, or null when there is none or it is not JSON. */
const readBody = (req: IncomingMessage): Promise<unknown> => readJson(req).catch(() => null);

/** Writes and waits until the bytes reached the socket, so a following destroy cannot discard them. */
const flush = (res: ServerResponse, data: string | Buffer): Promise<void> =>
  new Promise((resolve) => res.write(data, () => resolve()));

async function deliver(
  res: ServerResponse,
  reply: Reply,
  behaviour: Behaviour,
  signal: AbortSignal,
  requestId: string,
): Promise<void> {
  const delayMs = behaviour.kind === 'slow-stream' ? behaviour.chunkDelayMs : 0;
  const drop = behaviour.kind === 'drop-mid-stream';
  if (!('events' in reply)) {
    if (delayMs) await sleep(delayMs, undefined, { signal });
    res.writeHead(reply.status, {
      ...reply.headers,
      'request-id': requestId,
      'content-type': reply.contentType,
      'content-length': reply.body.length,
    });
    if (!drop) return void res.end(reply.body);
    await flush(res, reply.body.subarray(0, Math.floor(reply.body.length / 2)));
    return void res.destroy();
  }
  const frames = reply.events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  res.writeHead(200, { 'request-id': requestId, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const sent = drop ? Math.max(1, Math.floor(frames.length / 2)) : frames.length;
  for (let i = 0; i < sent; i++) {
    if (i > 0 && delayMs) await sleep(delayMs, undefined, { signal });
    await flush(res, frames[i]);
  }
  if (drop) res.destroy();
  else res.end();
}

/** A local stand-in for Anthropic's Messages API on 127.0.0.1 that answers deterministically and fails on request. */
export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = [];
  const keyRules = new Map<string, Rule>();
  let allRule: Rule | null = null;
  let accepted: Set<string> | null = null;
  let answered = 0;

  const takeBehaviour = (apiKey: string): Behaviour => {
    const keyRule = keyRules.get(apiKey);
    const rule = keyRule ?? allRule;
    if (!rule) return { kind: 'ok' };
    if (--rule.remaining <= 0) {
      if (keyRule) keyRules.delete(apiKey);
      else allRule = null;
    }
    return rule.behaviour;
  };

  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const route = (endpoint: string, body: unknown, n: number): Reply => {
    switch (endpoint) {
      case 'GET /v1/models': {
        const data = MODELS.map((id) => ({
          type: 'model',
          id,
          display_name: id,
          created_at: '2025-01-01T00:00:00Z',
        }));
        return json(200, { data, has_more: false, first_id: MODELS[0], last_id: MODELS.at(-1) });
      }
      case 'POST /v1/messages': {
        if (body === null || typeof body !== 'object') return errorReply(400, 'The request body is not valid JSON.');
        const params = body as Anthropic.MessageCreateParams;
        const problem = invalid(params);
        return problem ? errorReply(400, problem) : messageReply(params, `msg_fake_${n}`);
      }
      default:
        return errorReply(404, `Not found: ${endpoint}`);
    }
  };

  server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const n = ++answered;
    const requestId = `req_fake_${n}`;
    try {
      const method = req.method ?? 'GET';
      const path = new URL(req.url ?? '/', origin).pathname;
      const header = req.headers['x-api-key'];
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const apiKey = (typeof header === 'string' && header !== '' ? header : bearer) ?? null;
      const body = await readBody(req);
      requests.push({ method, path, headers: { ...req.headers }, body, apiKey });

      const refuse = (status: number, message: string) =>
        deliver(res, errorReply(status, message), { kind: 'ok' }, controller.signal, requestId);
      if (apiKey === null) return await refuse(401, 'x-api-key or authorization header is required');
      if (accepted && !accepted.has(apiKey)) return await refuse(401, 'invalid x-api-key');
      if (!req.headers['anthropic-version']) return await refuse(400, 'anthropic-version: header is required');
      const behaviour = takeBehaviour(apiKey);
      if (behaviour.kind === 'hang') return;
      if (behaviour.kind === 'status') {
        const { status, message = `Fake upstream error ${status}.`, retryAfterSeconds } = behaviour;
        const headers = retryAfterSeconds === undefined ? undefined : { 'retry-after': String(retryAfterSeconds) };
        return await deliver(res, errorReply(status, message, headers), behaviour, controller.signal, requestId);
      }
      await deliver(res, route(`${method} ${path}`, body, n), behaviour, controller.signal, requestId);
    } catch {
      // The client went away (or the server closed) while the answer was being sent.
      res.destroy();
    }
  });

  const rule = (behaviour: Behaviour, times?: number): Rule => ({ behaviour, remaining: times ?? Infinity });
  return {
    url: origin,
    requests,
    behave: (apiKey, behaviour, times) => void keyRules.set(apiKey, rule(behaviour, times)),
    behaveAll: (behaviour, times) => void (allRule = rule(behaviour, times)),
    acceptOnly: (keys) => void (accepted = keys && new Set(keys)),
    reset: () => {
      keyRules.clear();
      allRule = null;
      accepted = null;
      requests.length = 0;
    },
    close: async () => {
      const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      server.closeAllConnections();
      await closed;
    },
  };
}
