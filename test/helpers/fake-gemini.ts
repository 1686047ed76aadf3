import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { json as readJson } from 'node:stream/consumers';
import { runInThisContext } from 'node:vm';
import { localImage, localVideo } from '../../src/modules/gateway/local/local-models.js';

export interface RecordedRequest {
  method: string;
  /** Without the query, e.g. /v1beta/models/gemini-2.5-flash-image:generateContent. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or null when there was none or it was not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read whichever request field they check
  body: any;
  /** From `x-goog-api-key` (what the SDK sends), else the `key` query parameter. */
  apiKey: string | null;
}

export type Behaviour =
  | { kind: 'ok' }
  /** A Google error body `{ error: { code, message, status } }`; with `Retry-After` and a RetryInfo detail when given. */
  | { kind: 'status'; status: number; retryAfterSeconds?: number; message?: string }
  /** Accept the request and never answer (until the client gives up, or close). */
  | { kind: 'hang' }
  /** Answer without media, as a safety filter does: a blocked prompt (generateContent), filtered samples (a video). */
  | { kind: 'blocked'; reason?: string }
  /** Start a video operation that ends, once its pending polls are spent, with this error instead of a video. */
  | { kind: 'operation-error'; code?: number; message?: string }
  /** Send half of the answer's body, then destroy the socket. */
  | { kind: 'drop-mid-body' };

export interface VideoOptions {
  /** Polls of a new operation that answer not-done before it is done (default 1). */
  pendingPolls?: number;
  /** Where a finished video is: a file URI to download (default, as the Gemini API does), or inline base64. */
  delivery?: 'uri' | 'bytes';
}

export interface FakeGemini {
  /** The server's root, e.g. http://127.0.0.1:43123 (what the SDK takes as httpOptions.baseUrl; it adds /v1beta). */
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
   * Keys the server accepts, before any behaviour; any other key gets what the Gemini API answers: 400
   * INVALID_ARGUMENT with reason API_KEY_INVALID (403 PERMISSION_DENIED without a key). Default: every key.
   */
  acceptOnly(keys: string[] | null): void;
  /** How operations started from now on finish. */
  configureVideos(options: VideoOptions): void;
  /** Forgets behaviours, accepted keys, video options, operations, files and recorded requests. */
  reset(): void;
  /** Stops the server and ends every open request, hanging ones included. */
  close(): Promise<void>;
}

type Reply = { status: number; contentType: string; body: Buffer; headers?: Record<string, string> };
type Rule = { behaviour: Behaviour; remaining: number };

interface FakeOperation {
  name: string;
  pendingPolls: number;
  delivery: 'uri' | 'bytes';
  outcome:
    | { kind: 'video'; video: Buffer }
    | { kind: 'blocked'; reason: string }
    | { kind: 'error'; code: number; message: string };
  fileId?: string;
}

// The fake's "videos" are localVideo's animated GIFs, so they are served as image/gif rather than Veo's video/mp4.
const VIDEO_CONTENT_TYPE = 'image/gif';
const DEFAULT_VIDEO_SECONDS = 8;
/** The short side of the fake's images and videos: small, and localImage's and localVideo's minimum. */
const SHORT_SIDE = 64;
// The Google API status names for the HTTP statuses (google.rpc.Code).
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

function json(status: number, value: unknown): Reply {
  return { status, contentType: 'application/json; charset=UTF-8', body: Buffer.from(JSON.stringify(value)) };
}

function errorReply(status: number, message: string, details: unknown[] = [], headers?: Record<string, string>): Reply {
  const error = {
    code: status,
    message,
    status: STATUS_NAMES[status] ?? 'UNKNOWN',
    ...(details.length && { details }),
  };
  return { ...json(status, { error }), headers };
}

/** Width and height for an aspect ratio such as '16:9', the short side SHORT_SIDE. */
function dimensions(aspectRatio: unknown): [width: number, height: number] {
  const [w, h] = typeof aspectRatio === 'string' ? aspectRatio.split(':').map(Number) : [1, 1];
  if (!(w > 0 && h > 0)) return [SHORT_SIDE, SHORT_SIDE];
  return w >= h ? [Math.round((SHORT_SIDE * w) / h), SHORT_SIDE] : [SHORT_SIDE, Math.round((SHORT_SIDE * h) / w)];
}

/** The text of a generateContent body's last user turn, and the inline image it carried (an edit), if any. */
function turnOf(body: { contents?: { role?: string; parts?: { text?: string; inlineData?: { data?: string } }[] }[] }) {
  const parts = body.contents?.filter((content) => content.role !== 'model').at(-1)?.parts ?? [];
  const text = parts.map((part) => part.text ?? '').join(' ');
  const image = parts.find((part) => part.inlineData?.data)?.inlineData?.data;
  return { text, image };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a generateContent body as the SDK sends it
function generateContent(model: string, body: any, behaviour: Behaviour): Reply {
  const { text, image } = turnOf(body);
  if (behaviour.kind === 'blocked') {
    return json(200, { promptFeedback: { blockReason: behaviour.reason ?? 'SAFETY' }, modelVersion: model });
  }
  const modalities: string[] = body.generationConfig?.responseModalities ?? ['TEXT', 'IMAGE'];
  const parts: unknown[] = [];
  // Only image models draw; any other model answers in words, as Gemini's text models do.
  const draws = model.includes('image') && modalities.includes('IMAGE');
  if (!draws || modalities.includes('TEXT')) parts.push({ text: `Fake reply to: ${text}` });
  if (draws) {
    const [width, height] = dimensions(body.generationConfig?.imageConfig?.aspectRatio);
    const png = localImage(image ? `${text}|edit:${image.slice(0, 64)}` : text, width, height);
    parts.push({ inlineData: { mimeType: 'image/png', data: png.toString('base64') } });
  }
  return json(200, {
    candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: text.split(/\s+/).filter(Boolean).length, totalTokenCount: 0 },
    modelVersion: model,
  });
}

/** The wire form of a finished operation (what GET /v1beta/{name} answers once it is done). */
function finishedOperation(operation: FakeOperation): unknown {
  const { outcome } = operation;
  if (outcome.kind === 'error') {
    return { name: operation.name, done: true, error: { code: outcome.code, message: outcome.message } };
  }
  const response = { '@type': 'type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse' };
  if (outcome.kind === 'blocked') {
    return {
      name: operation.name,
      done: true,
      response: {
        ...response,
        generateVideoResponse: { raiMediaFilteredCount: 1, raiMediaFilteredReasons: [outcome.reason] },
      },
    };
  }
  const video =
    operation.delivery === 'bytes'
      ? { encodedVideo: outcome.video.toString('base64'), encoding: VIDEO_CONTENT_TYPE }
      : // Google's own host, as the API answers: the SDK takes only the file id from it and downloads through its base URL.
        { uri: `https://generativelanguage.googleapis.com/v1beta/files/${operation.fileId}:download?alt=media` };
  return {
    name: operation.name,
    done: true,
    response: { ...response, generateVideoResponse: { generatedSamples: [{ video }] } },
  };
}

/** The parsed JSON body, or null when there is none or it is not JSON. */
const readBody = (req: IncomingMessage): Promise<unknown> => readJson(req).catch(() => null);

/** Writes and waits until the bytes reached the socket, so a following destroy cannot discard them. */
const flush = (res: ServerResponse, data: Buffer): Promise<void> =>
  new Promise((resolve) => res.write(data, () => resolve()));

async function deliver(res: ServerResponse, reply: Reply, drop: boolean): Promise<void> {
  res.writeHead(reply.status, {
    ...reply.headers,
    'content-type': reply.contentType,
    'content-length': reply.body.length,
  });
  if (!drop) return void res.end(reply.body);
  await flush(res, reply.body.subarray(0, Math.floor(reply.body.length / 2)));
  res.destroy();
}

/**
 * Jest runs a test file in a vm context with a globalThis of its own. In Node, @google/genai hands fetch a
 * dispatcher that looks up undici's global dispatcher on globalThis, and Node registers that on its real global
 * only (lazily): so the test context's globalThis gets the real one's, or every SDK call fails.
 */
function shareUndiciDispatcher(): void {
  const key = Symbol.for('undici.globalDispatcher.1');
  const real = runInThisContext('globalThis') as Record<symbol, unknown>;
  if (real === globalThis) return;
  new Headers();
  (globalThis as Record<symbol, unknown>)[key] ??= real[key];
}

/**
 * A local stand-in for the Gemini Developer API on 127.0.0.1: the REST paths and bodies @google/genai sends
 * (generateContent, predictLongRunning, GET of an operation, file download), deterministic answers, failures on
 * request. There is no Imagen :predict: the SDK calls it on Vertex AI only.
 */
export async function startFakeGemini(): Promise<FakeGemini> {
  shareUndiciDispatcher();
  const requests: RecordedRequest[] = [];
  const keyRules = new Map<string, Rule>();
  let allRule: Rule | null = null;
  let accepted: Set<string> | null = null;
  let videoOptions: Required<VideoOptions> = { pendingPolls: 1, delivery: 'uri' };
  const operations = new Map<string, FakeOperation>();
  const files = new Map<string, Buffer>();
  let counter = 0;

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

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a predictLongRunning body as the SDK sends it
  const startVideo = (model: string, body: any, behaviour: Behaviour): Reply => {
    const prompt: unknown = body.instances?.[0]?.prompt;
    if (typeof prompt !== 'string') return errorReply(400, 'A prompt is required.');
    const id = `op${++counter}`;
    const seconds = Number(body.parameters?.durationSeconds ?? DEFAULT_VIDEO_SECONDS);
    const [width, height] = dimensions(body.parameters?.aspectRatio ?? '16:9');
    const outcome: FakeOperation['outcome'] =
      behaviour.kind === 'operation-error'
        ? { kind: 'error', code: behaviour.code ?? 13, message: behaviour.message ?? 'Fake video generation failed.' }
        : behaviour.kind === 'blocked'
          ? { kind: 'blocked', reason: behaviour.reason ?? 'The prompt was filtered by the fake safety checks.' }
          : { kind: 'video', video: localVideo(prompt, seconds, width, height) };
    const operation: FakeOperation = { name: `models/${model}/operations/${id}`, ...videoOptions, outcome };
    operations.set(operation.name, operation);
    return json(200, { name: operation.name });
  };

  const poll = (name: string): Reply => {
    const operation = operations.get(name);
    if (!operation) return errorReply(404, `Operation ${name} not found.`);
    if (operation.pendingPolls > 0) {
      operation.pendingPolls -= 1;
      // An operation in progress has no `done` field on the wire.
      return json(200, { name });
    }
    if (operation.outcome.kind === 'video' && !operation.fileId) {
      operation.fileId = `video${++counter}`;
      files.set(operation.fileId, operation.outcome.video);
    }
    return json(200, finishedOperation(operation));
  };

  const route = (method: string, path: string, query: Record<string, string>, body: unknown, behaviour: Behaviour) => {
    const parsed = body !== null && typeof body === 'object' ? body : null;
    const unparsable = errorReply(400, 'Invalid JSON payload received.');
    const call = /^\/v1beta\/models\/([^/:]+):([A-Za-z]+)$/.exec(path);
    if (method === 'POST' && call?.[2] === 'generateContent') {
      return parsed ? generateContent(call[1], parsed, behaviour) : unparsable;
    }
    if (method === 'POST' && call?.[2] === 'predictLongRunning') {
      return parsed ? startVideo(call[1], parsed, behaviour) : unparsable;
    }
    const operation = /^\/v1beta\/(models\/[^/]+\/operations\/[^/]+)$/.exec(path);
    if (method === 'GET' && operation) return poll(operation[1]);
    const file = /^\/v1beta\/files\/([a-z0-9]+):download$/.exec(path);
    if (method === 'GET' && file && query.alt === 'media') {
      const bytes = files.get(file[1]);
      return bytes
        ? { status: 200, contentType: VIDEO_CONTENT_TYPE, body: bytes }
        : errorReply(404, `File files/${file[1]} not found.`);
    }
    return errorReply(404, `The requested URL ${path} was not found on this server.`);
  };

  server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const method = req.method ?? 'GET';
      const url = new URL(req.url ?? '/', origin);
      const query = Object.fromEntries(url.searchParams);
      const header = req.headers['x-goog-api-key'];
      const apiKey = (Array.isArray(header) ? header[0] : header) ?? query.key ?? null;
      const body = await readBody(req);
      requests.push({ method, path: url.pathname, query, headers: { ...req.headers }, body, apiKey });

      if (accepted && (apiKey === null || !accepted.has(apiKey))) {
        const refusal =
          apiKey === null
            ? errorReply(403, "Method doesn't allow unregistered callers. Please use an API key.")
            : errorReply(400, 'API key not valid. Please pass a valid API key.', [
                {
                  '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                  reason: 'API_KEY_INVALID',
                  domain: 'googleapis.com',
                },
              ]);
        return await deliver(res, refusal, false);
      }
      const behaviour = takeBehaviour(apiKey);
      if (behaviour.kind === 'hang') return;
      if (behaviour.kind === 'status') {
        const { status, message = `Fake upstream error ${status}.`, retryAfterSeconds } = behaviour;
        const retry = retryAfterSeconds !== undefined;
        const details = retry
          ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterSeconds}s` }]
          : [];
        const headers = retry ? { 'retry-after': String(retryAfterSeconds) } : undefined;
        return await deliver(res, errorReply(status, message, details, headers), false);
      }
      await deliver(res, route(method, url.pathname, query, body, behaviour), behaviour.kind === 'drop-mid-body');
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
    configureVideos: (options) => void (videoOptions = { ...videoOptions, ...options }),
    reset: () => {
      keyRules.clear();
      allRule = null;
      accepted = null;
      videoOptions = { pendingPolls: 1, delivery: 'uri' };
      operations.clear();
      files.clear();
      requests.length = 0;
    },
    close: async () => {
      const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      server.closeAllConnections();
      await closed;
    },
  };
}
