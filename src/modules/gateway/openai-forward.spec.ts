import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { forwardJson, forwardStream } from './openai-forward.js';
import { classify } from './upstream.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe('forwarding to an OpenAI-compatible upstream with undici', () => {
  let server: Server;
  let client: OpenAI;
  let handle: Handler = () => undefined;
  const seen: { path: string; authorization?: string; body: unknown }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (piece: Buffer) => (body += piece.toString()));
      req.on('end', () => {
        seen.push({ path: req.url!, authorization: req.headers.authorization, body: JSON.parse(body) });
        handle(req, body, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new OpenAI({ apiKey: 'sk-forward-test', baseURL: `http://127.0.0.1:${port}/v1/`, maxRetries: 0 });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const collect = async (stream: AsyncIterable<OpenAI.ChatCompletionChunk>) => {
    const out: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) out.push(chunk);
    return out;
  };
  const chunk = (content: string) => ({ id: 'c1', object: 'chat.completion.chunk', choices: [{ delta: { content } }] });

  it('sends the SDK’s request and answers the JSON as it is', async () => {
    handle = (_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[1]}');
    expect(await forwardJson(client, '/embeddings', { model: 'm', input: 'x' }, { timeout: 1000 })).toEqual({
      data: [1],
    });
    expect(seen.at(-1)).toEqual({
      path: '/v1/embeddings',
      authorization: 'Bearer sk-forward-test',
      body: { model: 'm', input: 'x' },
    });
  });

  it('turns statuses, timeouts and aborts into the SDK’s errors', async () => {
    handle = (_req, _body, res) =>
      res
        .writeHead(429, { 'content-type': 'application/json', 'retry-after': '3' })
        .end('{"error":{"message":"slow down"}}');
    const limited = await forwardJson(client, '/chat/completions', {}, { timeout: 1000 }).catch((err: unknown) => err);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(classify(limited)).toMatchObject({ kind: 'retry', status: 429, retryAfterMs: 3000 });

    handle = (_req, _body, res) => res.writeHead(502).end('bad gateway');
    const failed = await forwardJson(client, '/chat/completions', {}, { timeout: 1000 }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
    expect((failed as Error).message).toContain('bad gateway');

    handle = () => undefined; // never answers
    const late = await forwardJson(client, '/chat/completions', {}, { timeout: 100 }).catch((err: unknown) => err);
    expect(late).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    const abort = new AbortController();
    const pending = forwardStream(client, {}, { timeout: 5000, signal: abort.signal }).catch((err: unknown) => err);
    abort.abort();
    expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
  });

  it('reads server-sent events split anywhere, with CRLF, comments and multi-line data, up to [DONE]', async () => {
    const text =
      `: keep-alive\r\n\r\ndata: ${JSON.stringify(chunk('Hé'))}\r\n\r\n` +
      `event: message\r\ndata: {"id":"c1","object":"chat.completion.chunk",\r\ndata: "choices":[{"delta":{"content":"llo ☃"}}]}\r\n\r\n` +
      `data: [DONE]\n\ndata: ${JSON.stringify(chunk('after the end'))}\n\n`;
    handle = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      // One to three bytes at a time, so characters, CRLFs, lines and events arrive in pieces.
      const bytes = Buffer.from(text);
      const pieces: Buffer[] = [];
      for (let at = 0, size = 1; at < bytes.length; at += size, size = (size % 3) + 1)
        pieces.push(bytes.subarray(at, at + size));
      const next = () => (pieces.length > 0 ? res.write(pieces.shift(), () => setImmediate(next)) : res.end());
      next();
    };
    const stream = await forwardStream(client, { stream: true }, { timeout: 1000 });
    const got = await collect(stream);
    expect(got.map((c) => c.choices[0].delta.content)).toEqual(['Hé', 'llo ☃']);
  });

  it('throws an event that carries an error as the SDK’s APIError, and ends quietly once the caller aborts', async () => {
    handle = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`data: ${JSON.stringify(chunk('a'))}\n\ndata: {"error":{"message":"overloaded"}}\n\n`);
    };
    const broken = await collect(await forwardStream(client, {}, { timeout: 1000 })).catch((err: unknown) => err);
    expect(broken).toBeInstanceOf(OpenAI.APIError);
    expect((broken as Error).message).toContain('overloaded');

    handle = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify(chunk('first'))}\n\n`); // and then nothing more
    };
    const abort = new AbortController();
    const got: string[] = [];
    for await (const c of await forwardStream(client, {}, { timeout: 1000, signal: abort.signal })) {
      got.push(c.choices[0].delta.content!);
      abort.abort();
    }
    expect(got).toEqual(['first']);
  });
});
