import OpenAI from 'openai';
import { Agent, request } from 'undici';

/** Keep-alive connections to the upstreams, shared by every key and provider (one pool per origin). */
const upstreams = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

type Path = '/chat/completions' | '/embeddings';

interface CallOptions {
  timeout?: number;
  signal?: AbortSignal | null;
}

/**
 * Calls on OpenAI-compatible upstreams (chat completions, streamed or not, and
 * embeddings) sent with undici instead of the SDK's fetch path, which costs
 * about three times as much per call (`npm run bench:gateway` measures both).
 * The request is the one the SDK sends — POST `{baseURL}{path}` with the
 * client's key as a Bearer token and the body as JSON, answered as it is (no
 * encoding the caller did not ask for) — and so are the errors: a non-2xx
 * answer becomes the SDK's APIError subclass for its status (with its headers,
 * for Retry-After), the deadline APIConnectionTimeoutError, a failed connection
 * APIConnectionError and the caller's abort APIUserAbortError, so key health,
 * retries and the caller's error treat it exactly as an SDK call.
 */
export async function forwardJson<T>(client: OpenAI, path: Path, body: object, options: CallOptions): Promise<T> {
  const deadline = AbortSignal.timeout(options.timeout ?? client.timeout);
  const answer = await send(client, path, body, options.signal, deadline);
  let text: string;
  try {
    text = await answer.body.text();
  } catch (err) {
    throw failedCall(err, options.signal, deadline);
  }
  const json = parsed(text);
  if (json === undefined) throw new Error(`The upstream answered ${answer.statusCode} with a body that is not JSON`);
  return json as T;
}

/**
 * A streamed chat completion: resolves once the upstream has answered (so a
 * refusal can still be retried), then yields its chunks as the SDK's stream
 * does — server-sent events up to `data: [DONE]`, an event carrying `error`
 * thrown as an APIError, and nothing more once the caller aborts. The deadline
 * covers the wait for the answer, not the stream.
 */
export async function forwardStream(
  client: OpenAI,
  body: object,
  options: CallOptions,
): Promise<AsyncIterable<OpenAI.ChatCompletionChunk>> {
  const waiting = new AbortController();
  const timer = setTimeout(() => waiting.abort(), options.timeout ?? client.timeout);
  let answer: Awaited<ReturnType<typeof send>>;
  try {
    answer = await send(client, '/chat/completions', body, options.signal, waiting.signal);
  } finally {
    clearTimeout(timer);
  }
  return chunks(answer, options.signal);
}

async function* chunks(
  answer: Awaited<ReturnType<typeof send>>,
  signal: AbortSignal | null | undefined,
): AsyncGenerator<OpenAI.ChatCompletionChunk> {
  const decoder = new TextDecoder();
  let buffered = '';
  let pending = '';
  try {
    for await (const piece of answer.body) {
      // Characters and CRLFs may be split between pieces: a partial character waits in the decoder, a final CR here.
      pending += decoder.decode(piece as Buffer, { stream: true });
      const whole = pending.endsWith('\r') ? pending.length - 1 : pending.length;
      buffered += pending.slice(0, whole).replace(/\r\n?/g, '\n');
      pending = pending.slice(whole);
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const data = eventData(buffered.slice(0, end));
        buffered = buffered.slice(end + 2);
        if (data === null) continue;
        if (data.startsWith('[DONE]')) return;
        const chunk = JSON.parse(data) as OpenAI.ChatCompletionChunk & { error?: object };
        if (chunk.error) throw new OpenAI.APIError(undefined, chunk.error, undefined, webHeaders(answer.headers));
        yield chunk;
      }
    }
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  } finally {
    answer.body.destroy();
  }
}

/** The `data` of one server-sent event (its data lines joined), or null when it has none. */
function eventData(event: string): string | null {
  const lines = event
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
  return lines.length === 0 ? null : lines.join('\n');
}

/** Sends the call; answers once a 2xx has arrived, or throws the SDK's error for anything else. */
async function send(
  client: OpenAI,
  path: Path,
  body: object,
  signal: AbortSignal | null | undefined,
  deadline: AbortSignal,
) {
  let answer: Awaited<ReturnType<typeof request>>;
  try {
    answer = await request(`${client.baseURL.replace(/\/+$/, '')}${path}`, {
      method: 'POST',
      dispatcher: upstreams,
      headers: {
        authorization: `Bearer ${client.apiKey}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
    });
  } catch (err) {
    throw failedCall(err, signal, deadline);
  }
  if (answer.statusCode >= 200 && answer.statusCode < 300) return answer;
  let text: string;
  try {
    text = await answer.body.text();
  } catch (err) {
    throw failedCall(err, signal, deadline);
  }
  const json = parsed(text);
  throw OpenAI.APIError.generate(
    answer.statusCode,
    json as object | undefined,
    json === undefined ? text : undefined,
    webHeaders(answer.headers),
  );
}

function failedCall(err: unknown, signal: AbortSignal | null | undefined, deadline: AbortSignal): Error {
  if (signal?.aborted) return new OpenAI.APIUserAbortError();
  if (deadline.aborted) return new OpenAI.APIConnectionTimeoutError();
  return new OpenAI.APIConnectionError({ cause: err as Error });
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function webHeaders(headers: Record<string, string | string[] | undefined>): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return out;
}
