import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import Anthropic from '@anthropic-ai/sdk';
import { FAKE_TOOL_INPUT, startFakeAnthropic, type FakeAnthropic } from '../helpers/fake-anthropic.js';

const params: Anthropic.MessageCreateParamsNonStreaming = {
  model: 'fake-claude',
  max_tokens: 100,
  system: 'Be brief.',
  messages: [{ role: 'user', content: 'Hello there world' }],
};

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

const streamedText = (events: Anthropic.RawMessageStreamEvent[]): string =>
  events
    .map((event) => (event.type === 'content_block_delta' && event.delta.type === 'text_delta' ? event.delta.text : ''))
    .join('');

describe('fake Anthropic upstream, driven by the official SDK', () => {
  let fake: FakeAnthropic;
  let client: Anthropic;
  const clientFor = (apiKey: string, timeout = 2000): Anthropic =>
    new Anthropic({ baseURL: fake.url, apiKey, maxRetries: 0, timeout });

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    client = clientFor('sk-ant-test');
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  it('lists its models', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['fake-claude']);
  });

  it('answers a message deterministically and counts words as tokens', async () => {
    const message = await client.messages.create(params);

    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'fake-claude',
      content: [{ type: 'text', text: 'Fake reply to: Hello there world' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 6, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
    expect(message.id).toMatch(/^msg_fake_\d+$/);
  });

  it('streams named server-sent events in Anthropic’s order, with the same text and usage', async () => {
    const response = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-raw', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, stream: true }),
    });
    const frames = (await response.text()).split('\n\n').filter(Boolean);

    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const names = frames.map((frame) => /^event: (\w+)\ndata: \{.*\}$/s.exec(frame)?.[1]);
    expect(names).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      ...Array<string>(6).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(fake.requests[0].apiKey).toBe('sk-ant-raw');

    const events = await collect(await client.messages.create({ ...params, stream: true }));
    expect(streamedText(events)).toBe('Fake reply to: Hello there world');
    expect(events.at(-2)).toMatchObject({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn' },
      usage: { output_tokens: 6 },
    });
  });

  it('stops at a stop sequence, cuts at max_tokens, and answers as JSON under output_config.format', async () => {
    const stopped = await client.messages.create({ ...params, stop_sequences: ['world', 'there'] });
    expect(stopped).toMatchObject({
      content: [{ type: 'text', text: 'Fake reply to: Hello' }],
      stop_reason: 'stop_sequence',
      stop_sequence: 'there',
    });

    const cut = await client.messages.create({ ...params, max_tokens: 2 });
    expect(cut).toMatchObject({
      content: [{ text: 'Fake reply' }],
      stop_reason: 'max_tokens',
      usage: { output_tokens: 2 },
    });

    const structured = await client.messages.create({
      ...params,
      output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
    });
    const [block] = structured.content;
    expect(block.type === 'text' && JSON.parse(block.text)).toEqual({ reply: 'Fake reply to: Hello there world' });
  });

  it('calls the forced tool, streamed or not, and answers in text when the choice is auto', async () => {
    const tools: Anthropic.Tool[] = [
      { name: 'lookup', input_schema: { type: 'object' } },
      { name: 'search', input_schema: { type: 'object' } },
    ];
    const forced = await client.messages.create({ ...params, tools, tool_choice: { type: 'any' } });
    expect(forced).toMatchObject({
      stop_reason: 'tool_use',
      content: [
        { type: 'tool_use', id: expect.stringMatching(/^toolu_fake_/), name: 'lookup', input: FAKE_TOOL_INPUT },
      ],
    });

    const events = await collect(
      await client.messages.create({ ...params, tools, tool_choice: { type: 'tool', name: 'search' }, stream: true }),
    );
    expect(events[1]).toMatchObject({
      type: 'content_block_start',
      content_block: { type: 'tool_use', name: 'search' },
    });
    const json = events
      .map((event) =>
        event.type === 'content_block_delta' && event.delta.type === 'input_json_delta' ? event.delta.partial_json : '',
      )
      .join('');
    expect(JSON.parse(json)).toEqual(FAKE_TOOL_INPUT);

    const auto = await client.messages.create({ ...params, tools, tool_choice: { type: 'auto' } });
    expect(auto.content).toEqual([{ type: 'text', text: 'Fake reply to: Hello there world', citations: null }]);
  });

  it('refuses requests the API would refuse: no key, no version, missing fields, orphan tool results', async () => {
    const raw = (headers: Record<string, string>, body: unknown) =>
      fetch(`${fake.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }).then(async (response) => ({ status: response.status, body: await response.json() }));

    expect(await raw({ 'anthropic-version': '2023-06-01' }, params)).toEqual({
      status: 401,
      body: { type: 'error', error: { type: 'authentication_error', message: expect.stringContaining('required') } },
    });
    expect(await raw({ 'x-api-key': 'sk-ant-test' }, params)).toMatchObject({
      status: 400,
      body: { error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } },
    });

    await expect(
      client.messages.create({ ...params, max_tokens: undefined as unknown as number }),
    ).rejects.toMatchObject({
      status: 400,
      apiMessage: 'max_tokens: Field required',
    });
    await expect(
      client.messages.create({
        ...params,
        messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'x' }] }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('fails one key with 429 and Retry-After for the given number of requests, then recovers, leaving other keys alone', async () => {
    const limited = clientFor('sk-ant-limited');
    fake.behave('sk-ant-limited', { kind: 'status', status: 429, retryAfterSeconds: 7, message: 'Slow down.' }, 1);

    const error = await limited.messages.create(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const apiError = error as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.headers?.get('retry-after')).toBe('7');
    expect(apiError.error).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Slow down.' } });
    expect(apiError.requestID).toMatch(/^req_fake_\d+$/);

    await expect(client.messages.create(params)).resolves.toBeDefined();
    await expect(limited.messages.create(params)).resolves.toBeDefined();
    expect(fake.requests.filter((request) => request.apiKey === 'sk-ant-limited')).toHaveLength(2);
  });

  it('sends overloaded_error with 529, and lets a key behaviour override the one for every key', async () => {
    fake.behaveAll({ kind: 'status', status: 529 });
    fake.behave('sk-ant-healthy', { kind: 'ok' });

    const error = await client.messages.create(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.OverloadedError);
    expect(error).toMatchObject({ status: 529, type: 'overloaded_error' });
    await expect(clientFor('sk-ant-healthy').messages.create(params)).resolves.toBeDefined();
  });

  it('rejects keys outside acceptOnly with 401 authentication_error', async () => {
    fake.acceptOnly(['sk-ant-good']);

    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    await expect(clientFor('sk-ant-good').messages.create(params)).resolves.toBeDefined();
  });

  it('hangs until the client times out', async () => {
    fake.behave('sk-ant-test', { kind: 'hang' });

    const error = await clientFor('sk-ant-test', 200)
      .messages.create(params)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    expect(fake.requests).toHaveLength(1);
  });

  it('streams slowly with the same content', async () => {
    fake.behaveAll({ kind: 'slow-stream', chunkDelayMs: 5 });

    const events = await collect(await client.messages.create({ ...params, stream: true }));

    expect(streamedText(events)).toBe('Fake reply to: Hello there world');
    expect(events.at(-1)).toEqual({ type: 'message_stop' });
  });

  it('drops the connection mid-answer, so stream iteration throws after some events and a plain request fails', async () => {
    fake.behave('sk-ant-test', { kind: 'drop-mid-stream' }, 2);
    const received: Anthropic.RawMessageStreamEvent[] = [];

    const stream = await client.messages.create({ ...params, stream: true });
    await expect(
      (async () => {
        for await (const event of stream) received.push(event);
      })(),
    ).rejects.toThrow('terminated');
    expect(received[0].type).toBe('message_start');
    expect(received.some((event) => event.type === 'message_stop')).toBe(false);

    await expect(client.messages.create(params)).rejects.toThrow('terminated');
  });

  it('records every request with its key and parsed body, failed ones included', async () => {
    fake.behave('sk-ant-test', { kind: 'status', status: 500 }, 1);

    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.InternalServerError);
    await client.messages.create({ ...params, max_tokens: 4 });

    expect(fake.requests).toHaveLength(2);
    for (const request of fake.requests) {
      expect(request).toMatchObject({ method: 'POST', path: '/v1/messages', apiKey: 'sk-ant-test' });
      expect(request.body).toMatchObject({ model: 'fake-claude', messages: params.messages });
    }
    expect(fake.requests[1].body.max_tokens).toBe(4);
  });

  it('ends hanging requests when it closes', async () => {
    const own = await startFakeAnthropic();
    own.behaveAll({ kind: 'hang' });
    const pending = new Anthropic({ baseURL: own.url, apiKey: 'sk-ant-test', maxRetries: 0, timeout: 10_000 }).messages
      .create(params)
      .then(
        () => 'answered',
        (error: unknown) => error,
      );
    while (own.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

    await own.close();

    expect(await pending).toBeInstanceOf(Anthropic.APIConnectionError);
  });
});
