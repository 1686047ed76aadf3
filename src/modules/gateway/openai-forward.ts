import OpenAI from 'openai';
import { Agent, request } from 'undici';

/** Keep-alive connections to the upstreams, shared by every key and provider (one pool per origin). */
const upstreams = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

/**
 * A JSON call (a non-streamed chat completion, embeddings) on an
 * OpenAI-compatible upstream, sent with undici instead of the SDK's fetch path,
 * which costs about three times as much per call (`npm run bench:gateway`
 * measures both). The request is the one the SDK sends — POST `{baseURL}{path}`
 * with the client's key as a Bearer token and the body as JSON, answered as
 * it is (no encoding the caller did not ask for) — and so are the errors: a non-2xx answer
 * becomes the SDK's APIError subclass for its status (with its headers, for
 * Retry-After), the deadline APIConnectionTimeoutError, a failed connection
 * APIConnectionError and the caller's abort APIUserAbortError, so key health,
 * retries and the caller's error treat it exactly as an SDK call.
 */
export async function forwardJson<T>(
  client: OpenAI,
  path: '/chat/completions' | '/embeddings',
  body: object,
  { timeout, signal }: { timeout?: number; signal?: AbortSignal | null },
): Promise<T> {
  const deadline = AbortSignal.timeout(timeout ?? client.timeout);
  const abort = signal ? AbortSignal.any([signal, deadline]) : deadline;
  let status: number;
  let headers: Record<string, string | string[] | undefined>;
  let text: string;
  try {
    const answer = await request(`${client.baseURL.replace(/\/+$/, '')}${path}`, {
      method: 'POST',
      dispatcher: upstreams,
      headers: {
        authorization: `Bearer ${client.apiKey}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(body),
      signal: abort,
    });
    ({ statusCode: status, headers } = answer);
    text = await answer.body.text();
  } catch (err) {
    if (signal?.aborted) throw new OpenAI.APIUserAbortError();
    if (deadline.aborted) throw new OpenAI.APIConnectionTimeoutError();
    throw new OpenAI.APIConnectionError({ cause: err as Error });
  }
  const json = parsed(text);
  if (status >= 200 && status < 300) {
    if (json === undefined) throw new Error(`The upstream answered ${status} with a body that is not JSON`);
    return json as T;
  }
  throw OpenAI.APIError.generate(
    status,
    json as object | undefined,
    json === undefined ? text : undefined,
    webHeaders(headers),
  );
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
