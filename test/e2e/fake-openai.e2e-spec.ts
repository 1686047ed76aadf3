import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { PNG } from 'pngjs';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';

const messages: OpenAI.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hello there world' },
];
const lookupTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'lookup', parameters: { type: 'object', properties: {} } },
};

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

const text = (chunks: OpenAI.ChatCompletionChunk[]): string =>
  chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');

describe('fake OpenAI upstream, driven by the official SDK', () => {
  let fake: FakeOpenAI;
  let client: OpenAI;
  const clientFor = (apiKey: string, timeout = 2000): OpenAI =>
    new OpenAI({ baseURL: fake.url, apiKey, maxRetries: 0, timeout });

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    client = clientFor('sk-test');
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  it('lists its models', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['fake-chat', 'fake-embedding', 'fake-image']);
  });

  it('answers a chat completion deterministically and counts words as tokens', async () => {
    const completion = await client.chat.completions.create({ model: 'fake-chat', messages });

    expect(completion).toMatchObject({ object: 'chat.completion', model: 'fake-chat' });
    expect(completion.id).toMatch(/^chatcmpl-fake-\d+$/);
    expect(completion.choices[0].message).toMatchObject({
      role: 'assistant',
      content: 'Fake reply to: Hello there world',
    });
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 });
  });

  it('streams the same content as SSE chunks, with exactly one usage chunk before [DONE]', async () => {
    const whole = await client.chat.completions.create({ model: 'fake-chat', messages });
    const stream = await client.chat.completions.create({
      model: 'fake-chat',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });

    const chunks = await collect(stream);

    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(text(chunks)).toBe(whole.choices[0].message.content);
    expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
    const withUsage = chunks.filter((chunk) => chunk.usage);
    expect(withUsage).toHaveLength(1);
    expect(withUsage[0]).toBe(chunks.at(-1));
    expect(withUsage[0].choices).toEqual([]);
    expect(withUsage[0].usage).toEqual(whole.usage);
  });

  it('streams without a usage chunk unless include_usage is asked for', async () => {
    const chunks = await collect(await client.chat.completions.create({ model: 'fake-chat', messages, stream: true }));

    expect(text(chunks)).toBe('Fake reply to: Hello there world');
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
  });

  it('cuts the reply to max_tokens or max_completion_tokens words with finish_reason length', async () => {
    const short = await client.chat.completions.create({ model: 'fake-chat', messages, max_tokens: 2 });
    expect(short.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Fake reply' } });
    expect(short.usage?.completion_tokens).toBe(2);

    const chunks = await collect(
      await client.chat.completions.create({ model: 'fake-chat', messages, max_completion_tokens: 3, stream: true }),
    );
    expect(text(chunks)).toBe('Fake reply to:');
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe('length');
  });

  it('calls the forced tool, streamed or not, and answers in text when the choice is auto', async () => {
    const required = await client.chat.completions.create({
      model: 'fake-chat',
      messages,
      tools: [lookupTool],
      tool_choice: 'required',
    });
    expect(required.choices[0].finish_reason).toBe('tool_calls');
    expect(required.choices[0].message.tool_calls).toEqual([
      { id: expect.any(String), type: 'function', function: { name: 'lookup', arguments: '{"ok":true}' } },
    ]);

    const otherTool = { ...lookupTool, function: { ...lookupTool.function, name: 'search' } };
    const chunks = await collect(
      await client.chat.completions.create({
        model: 'fake-chat',
        messages,
        tools: [lookupTool, otherTool],
        tool_choice: { type: 'function', function: { name: 'search' } },
        stream: true,
      }),
    );
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0].function?.name).toBe('search');
    expect(calls.map((call) => call.function?.arguments ?? '').join('')).toBe('{"ok":true}');
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe('tool_calls');

    const auto = await client.chat.completions.create({
      model: 'fake-chat',
      messages,
      tools: [lookupTool],
      tool_choice: 'auto',
    });
    expect(auto.choices[0].message.content).toBe('Fake reply to: Hello there world');
  });

  it('embeds deterministically as floats, and as base64 float32 that decodes to the same numbers', async () => {
    const floats = await client.embeddings.create({
      model: 'fake-embedding',
      input: ['red apple', 'green pear', 'red apple'],
      encoding_format: 'float',
    });
    expect(floats.data.map((item) => item.index)).toEqual([0, 1, 2]);
    expect(floats.data[0].embedding).toHaveLength(8);
    expect(floats.data[2].embedding).toEqual(floats.data[0].embedding);
    expect(floats.data[1].embedding).not.toEqual(floats.data[0].embedding);
    expect(floats.usage).toEqual({ prompt_tokens: 6, total_tokens: 6 });

    // Without encoding_format the SDK asks for base64 and decodes it itself.
    const decodedBySdk = await client.embeddings.create({ model: 'fake-embedding', input: 'red apple' });
    expect(fake.requests.at(-1)?.body.encoding_format).toBe('base64');
    expect(decodedBySdk.data[0].embedding).toEqual(floats.data[0].embedding);

    const raw = await client.embeddings.create({
      model: 'fake-embedding',
      input: 'red apple',
      encoding_format: 'base64',
    });
    const bytes = Buffer.from(raw.data[0].embedding as unknown as string, 'base64');
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(decoded).toEqual(floats.data[0].embedding);

    const wide = await client.embeddings.create({
      model: 'fake-embedding',
      input: 'red apple',
      dimensions: 12,
      encoding_format: 'float',
    });
    expect(wide.data[0].embedding).toHaveLength(12);
  });

  it('generates valid PNG images as b64_json, or as a URL it serves', async () => {
    const generated = await client.images.generate({ model: 'fake-image', prompt: 'a red dot', n: 2, size: '256x256' });
    expect(generated.data).toHaveLength(2);
    expect(generated.usage).toBeUndefined();
    const png = Buffer.from(generated.data![0].b64_json!, 'base64');
    expect(png.subarray(0, 4).toString('latin1')).toBe('\x89PNG');
    expect(PNG.sync.read(png)).toMatchObject({ width: 1, height: 1 });

    const linked = await client.images.generate({ model: 'fake-image', prompt: 'a red dot', response_format: 'url' });
    const download = await fetch(linked.data![0].url!);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await download.arrayBuffer())).toEqual(png);
  });

  it('fails one key with 429 and Retry-After for the given number of requests, then recovers, leaving other keys alone', async () => {
    const limited = clientFor('sk-limited');
    fake.behave('sk-limited', { kind: 'status', status: 429, retryAfterSeconds: 7, message: 'Slow down.' }, 1);

    const error = await limited.chat.completions.create({ model: 'fake-chat', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(429);
    expect(apiError.headers?.get('retry-after')).toBe('7');
    expect(apiError.error).toMatchObject({ message: 'Slow down.', code: 'rate_limit_exceeded' });

    await expect(client.chat.completions.create({ model: 'fake-chat', messages })).resolves.toBeDefined();
    await expect(limited.chat.completions.create({ model: 'fake-chat', messages })).resolves.toBeDefined();
    expect(fake.requests.filter((request) => request.apiKey === 'sk-limited')).toHaveLength(2);
  });

  it('lets a key behaviour override the behaviour for every key', async () => {
    fake.behaveAll({ kind: 'status', status: 503 });
    fake.behave('sk-healthy', { kind: 'ok' });

    await expect(client.embeddings.create({ model: 'fake-embedding', input: 'x' })).rejects.toMatchObject({
      status: 503,
    });
    await expect(
      clientFor('sk-healthy').embeddings.create({ model: 'fake-embedding', input: 'x' }),
    ).resolves.toBeDefined();
  });

  it('rejects keys outside acceptOnly with 401 invalid_api_key', async () => {
    fake.acceptOnly(['sk-good']);

    const error = await client.models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_api_key' });
    await expect(clientFor('sk-good').models.list()).resolves.toBeDefined();
  });

  it('answers unknown paths and wrong methods with a 404 error body', async () => {
    await expect(client.get('/nowhere')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.post('/models')).rejects.toMatchObject({ status: 404, code: 'unknown_url' });
  });

  it('hangs until the client times out', async () => {
    fake.behave('sk-test', { kind: 'hang' });
    const started = Date.now();

    const error = await clientFor('sk-test', 200)
      .chat.completions.create({ model: 'fake-chat', messages })
      .catch((e: unknown) => e);

    // Under Jest's VM modules the SDK cannot recognise the abort as a timeout (the error comes from
    // another realm), so it reports a plain connection error; the elapsed time shows the timeout fired.
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(fake.requests).toHaveLength(1);
  });

  it('streams slowly with the same content', async () => {
    fake.behaveAll({ kind: 'slow-stream', chunkDelayMs: 20 });
    const started = Date.now();

    const chunks = await collect(await client.chat.completions.create({ model: 'fake-chat', messages, stream: true }));

    expect(text(chunks)).toBe('Fake reply to: Hello there world');
    // Role, six words, finish and [DONE]: eight gaps between nine frames.
    expect(Date.now() - started).toBeGreaterThanOrEqual(8 * 20 - 5);
  });

  it('drops the connection mid-answer, so stream iteration throws after some chunks and a plain request fails', async () => {
    fake.behave('sk-test', { kind: 'drop-mid-stream' });
    const received: OpenAI.ChatCompletionChunk[] = [];

    const stream = await client.chat.completions.create({ model: 'fake-chat', messages, stream: true });
    await expect(
      (async () => {
        for await (const chunk of stream) received.push(chunk);
      })(),
    ).rejects.toThrow();
    expect(received.length).toBeGreaterThan(0);

    fake.behave('sk-test', { kind: 'drop-mid-stream' });
    // Headers arrived, so the SDK does not wrap the failure: reading the cut body throws undici's error.
    await expect(client.chat.completions.create({ model: 'fake-chat', messages })).rejects.toThrow('terminated');
  });

  it('records every request with its key and parsed body, failed ones included', async () => {
    fake.behave('sk-test', { kind: 'status', status: 500 }, 1);

    await client.chat.completions.create({ model: 'fake-chat', messages }).catch(() => undefined);
    await client.chat.completions.create({ model: 'fake-chat', messages, max_tokens: 4 });

    expect(fake.requests).toHaveLength(2);
    for (const request of fake.requests) {
      expect(request).toMatchObject({ method: 'POST', path: '/v1/chat/completions', apiKey: 'sk-test' });
      expect(request.headers.authorization).toBe('Bearer sk-test');
      expect(request.body).toMatchObject({ model: 'fake-chat', messages });
    }
    expect(fake.requests[1].body.max_tokens).toBe(4);
  });

  it('ends hanging requests when it closes', async () => {
    const own = await startFakeOpenAI();
    own.behaveAll({ kind: 'hang' });
    const pending = new OpenAI({ baseURL: own.url, apiKey: 'sk-test', maxRetries: 0, timeout: 10_000 }).models.list();
    const settled = pending.then(
      () => 'answered',
      (error: unknown) => error,
    );
    while (own.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

    await own.close();

    expect(await settled).toBeInstanceOf(OpenAI.APIConnectionError);
  });
});
