import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { FAKE_TOOL_INPUT, type FakeAnthropic, startFakeAnthropic } from '../../../../test/helpers/fake-anthropic.js';
import {
  ANTHROPIC_DEFAULT_MAX_TOKENS,
  AnthropicUnsupported,
  anthropicChat,
  anthropicChatStream,
  anthropicClient,
  anthropicRequest,
  anthropicStreamRequest,
  assertAnthropicSupports,
  classifyAnthropic,
  openAiChunks,
  openAiCompletion,
} from './anthropic-chat.js';

const CREATED = 1_700_000_000;
const messages: OpenAI.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hello there world' },
];
const lookup: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'lookup',
    description: 'Looks a word up.',
    parameters: { type: 'object', properties: { word: { type: 'string' } }, required: ['word'] },
  },
};
const search: OpenAI.ChatCompletionTool = { type: 'function', function: { name: 'search' } };
const body = (extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  ({ model: 'claude', messages, ...extra }) as OpenAI.ChatCompletionCreateParamsNonStreaming;

const usage = (input: number, output: number, cacheCreation = 0, cacheRead = 0): Anthropic.Usage => ({
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: cacheCreation,
  cache_read_input_tokens: cacheRead,
  cache_creation: null,
  inference_geo: null,
  output_tokens_details: null,
  server_tool_use: null,
  service_tier: 'standard',
  speed: null,
});
const message = (content: Anthropic.ContentBlock[], stop_reason: Anthropic.StopReason): Anthropic.Message => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-x',
  content,
  stop_reason,
  stop_sequence: null,
  stop_details: null,
  container: null,
  diagnostics: null,
  usage: usage(10, 5),
});
const text = (value: string): Anthropic.TextBlock => ({ type: 'text', text: value, citations: null });
const toolUse = (id: string, name: string, input: unknown): Anthropic.ToolUseBlock => ({
  type: 'tool_use',
  id,
  name,
  input,
  caller: { type: 'direct' },
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}
async function* replay<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}
const contentOf = (chunks: OpenAI.ChatCompletionChunk[]): string =>
  chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
const toolCallsOf = (chunks: OpenAI.ChatCompletionChunk[]) =>
  chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);

describe('anthropicRequest', () => {
  it('moves system and developer messages to system, keeps the turns, and drops what Anthropic lacks', () => {
    const request = anthropicRequest(
      body({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Use British spelling.' }] },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: [{ type: 'text', text: 'Colour?' }] },
        ],
        temperature: 1.5,
        top_p: 0.9,
        stop: 'END',
        user: 'user-123',
        logprobs: true,
      }),
      'claude-target',
    );

    expect(request).toEqual({
      model: 'claude-target',
      max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
      system: [
        { type: 'text', text: 'Be brief.' },
        { type: 'text', text: 'Use British spelling.' },
      ],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] },
        { role: 'user', content: [{ type: 'text', text: 'Colour?' }] },
      ],
      stop_sequences: ['END'],
      metadata: { user_id: 'user-123' },
    });
    expect(ANTHROPIC_DEFAULT_MAX_TOKENS).toBe(4096);
  });

  it('takes max_completion_tokens over max_tokens, and a stop list as it is', () => {
    expect(anthropicRequest(body({ max_tokens: 50, max_completion_tokens: 20 }), 'm').max_tokens).toBe(20);
    expect(anthropicRequest(body({ max_tokens: 50 }), 'm').max_tokens).toBe(50);
    expect(anthropicRequest(body({ stop: ['a', 'b'] }), 'm').stop_sequences).toEqual(['a', 'b']);
    expect(anthropicRequest(body({ stop: null }), 'm')).not.toHaveProperty('stop_sequences');
  });

  it('turns function tools into input schemas and maps every tool choice', () => {
    const request = anthropicRequest(body({ tools: [lookup, search] }), 'm');
    expect(request.tools).toEqual([
      {
        name: 'lookup',
        description: 'Looks a word up.',
        input_schema: { type: 'object', properties: { word: { type: 'string' } }, required: ['word'] },
      },
      { name: 'search', input_schema: { type: 'object' } },
    ]);
    expect(request).not.toHaveProperty('tool_choice');

    const choice = (extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>) =>
      anthropicRequest(body({ tools: [lookup, search], ...extra }), 'm').tool_choice;
    expect(choice({ tool_choice: 'auto' })).toEqual({ type: 'auto' });
    expect(choice({ tool_choice: 'none' })).toEqual({ type: 'none' });
    expect(choice({ tool_choice: 'required' })).toEqual({ type: 'any' });
    expect(choice({ tool_choice: { type: 'function', function: { name: 'search' } } })).toEqual({
      type: 'tool',
      name: 'search',
    });
    expect(choice({ parallel_tool_calls: false })).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(choice({ tool_choice: 'required', parallel_tool_calls: false })).toEqual({
      type: 'any',
      disable_parallel_tool_use: true,
    });

    const allowed = anthropicRequest(
      body({
        tools: [lookup, search],
        tool_choice: {
          type: 'allowed_tools',
          allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'search' } }] },
        },
      }),
      'm',
    );
    expect(allowed.tools?.map((tool) => (tool as Anthropic.Tool).name)).toEqual(['search']);
    expect(allowed.tool_choice).toEqual({ type: 'any' });
  });

  it('turns tool calls into tool_use blocks and merges consecutive tool results into one user turn', () => {
    const request = anthropicRequest(
      body({
        messages: [
          { role: 'user', content: 'Look up two words' },
          {
            role: 'assistant',
            content: 'Looking.',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"word":"cat"}' } },
              { id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'a small feline' },
          { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'nothing found' }] },
          { role: 'user', content: 'Summarise.' },
        ],
      }),
      'm',
    );

    expect(request.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Look up two words' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Looking.' },
          { type: 'tool_use', id: 'call_1', name: 'lookup', input: { word: 'cat' } },
          { type: 'tool_use', id: 'call_2', name: 'lookup', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'a small feline' },
          { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: 'nothing found' }] },
          { type: 'text', text: 'Summarise.' },
        ],
      },
    ]);
  });

  it('sends data: images as base64 and http(s) images as URLs, and PDF files as documents', () => {
    const request = anthropicRequest(
      body({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Compare these' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
              { type: 'image_url', image_url: { url: 'data:image/jpg;base64,/9j/4AAQ' } },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.webp' } },
              { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0x', filename: 'spec.pdf' } },
            ],
          },
        ],
      }),
      'm',
    );

    expect(request.messages[0].content).toEqual([
      { type: 'text', text: 'Compare these' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.webp' } },
      {
        type: 'document',
        source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0x' },
        title: 'spec.pdf',
      },
    ]);
  });

  it('asks for JSON in the system prompt for json_object, and uses structured output for a json_schema', () => {
    const object = anthropicRequest(body({ response_format: { type: 'json_object' } }), 'm');
    expect(object.system).toEqual([
      { type: 'text', text: 'Be brief.' },
      { type: 'text', text: expect.stringMatching(/^Answer with one valid JSON object only/) },
    ]);
    expect(object).not.toHaveProperty('output_config');

    const schema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] };
    const structured = anthropicRequest(
      body({ response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } } }),
      'm',
    );
    expect(structured.output_config).toEqual({ format: { type: 'json_schema', schema } });
    expect(structured.system).toEqual([{ type: 'text', text: 'Be brief.' }]);

    expect(anthropicRequest(body({ response_format: { type: 'text' } }), 'm').system).toEqual([
      { type: 'text', text: 'Be brief.' },
    ]);
  });

  it('refuses what Anthropic cannot serve with AnthropicUnsupported, which classifies as a rejection', () => {
    expect(() => assertAnthropicSupports(body({ n: 2 }))).toThrow(
      new AnthropicUnsupported('Anthropic supports n=1 only.'),
    );
    expect(() => assertAnthropicSupports(body({ n: 1 }))).not.toThrow();
    expect(() => anthropicRequest(body({ n: 3 }), 'm')).toThrow(AnthropicUnsupported);
    expect(() => anthropicRequest(body({ modalities: ['text', 'audio'] }), 'm')).toThrow(/text only/);

    const refused =
      (messages: OpenAI.ChatCompletionMessageParam[], extra = {}) =>
      () =>
        anthropicRequest(body({ messages, ...extra }), 'm');
    expect(
      refused([{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA==', format: 'wav' } }] }]),
    ).toThrow('Anthropic does not accept input_audio content.');
    expect(
      refused([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } }] }]),
    ).toThrow(/not image\/bmp/);
    expect(refused([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }])).toThrow(
      AnthropicUnsupported,
    );
    expect(refused([{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }])).toThrow(/PDF/);
    expect(
      refused([
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '[1]' } }],
        },
      ]),
    ).toThrow('The arguments of tool call call_1 must be a JSON object for Anthropic.');
    expect(
      refused(messages, { tools: [{ type: 'custom', custom: { name: 'grammar' } }] as OpenAI.ChatCompletionTool[] }),
    ).toThrow('Anthropic supports function tools only.');

    const error = (() => {
      try {
        anthropicRequest(body({ n: 2 }), 'm');
      } catch (err) {
        return err;
      }
    })();
    expect(classifyAnthropic(error)).toEqual({
      kind: 'rejected',
      message: 'Anthropic supports n=1 only.',
      status: 400,
    });
  });

  it('has a streaming variant of the same request', () => {
    expect(anthropicStreamRequest(body({ max_tokens: 9 }), 'm')).toEqual({
      ...anthropicRequest(body({ max_tokens: 9 }), 'm'),
      stream: true,
    });
  });
});

describe('openAiCompletion', () => {
  it('joins the text blocks, turns tool_use into tool calls, and counts cached input as prompt tokens', () => {
    const answer = {
      ...message(
        [
          text('Let me '),
          text('check.'),
          toolUse('toolu_1', 'lookup', { word: 'cat' }),
          toolUse('toolu_2', 'search', {}),
        ],
        'tool_use',
      ),
      usage: usage(10, 7, 3, 20),
    };

    expect(openAiCompletion(answer, CREATED)).toEqual({
      id: 'msg_1',
      object: 'chat.completion',
      created: CREATED,
      model: 'claude-x',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          logprobs: null,
          message: {
            role: 'assistant',
            content: 'Let me check.',
            refusal: null,
            tool_calls: [
              { id: 'toolu_1', type: 'function', function: { name: 'lookup', arguments: '{"word":"cat"}' } },
              { id: 'toolu_2', type: 'function', function: { name: 'search', arguments: '{}' } },
            ],
          },
        },
      ],
      usage: {
        prompt_tokens: 33,
        completion_tokens: 7,
        total_tokens: 40,
        prompt_tokens_details: { cached_tokens: 20 },
      },
    });
  });

  it('maps each stop reason to a finish reason, with null content for tool calls alone', () => {
    const finish = (reason: Anthropic.StopReason) =>
      openAiCompletion(message([text('x')], reason), CREATED).choices[0].finish_reason;
    expect(finish('end_turn')).toBe('stop');
    expect(finish('stop_sequence')).toBe('stop');
    expect(finish('max_tokens')).toBe('length');
    expect(finish('model_context_window_exceeded')).toBe('length');
    expect(finish('tool_use')).toBe('tool_calls');
    expect(finish('refusal')).toBe('content_filter');

    const toolsOnly = openAiCompletion(message([toolUse('toolu_1', 'lookup', {})], 'tool_use'), CREATED);
    expect(toolsOnly.choices[0].message.content).toBeNull();
    expect(openAiCompletion(message([], 'end_turn'), CREATED).choices[0].message.content).toBe('');
  });
});

describe('openAiChunks', () => {
  it('numbers tool calls apart from text blocks, and ends with a usage chunk counting cached input', async () => {
    const events: Anthropic.RawMessageStreamEvent[] = [
      { type: 'message_start', message: { ...message([], 'end_turn'), stop_reason: null, usage: usage(10, 1, 2, 30) } },
      { type: 'content_block_start', index: 0, content_block: text('') },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Checking' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: toolUse('toolu_a', 'lookup', {}) },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"word":' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"cat"}' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'content_block_start', index: 2, content_block: toolUse('toolu_b', 'search', {}) },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{}' } },
      { type: 'content_block_stop', index: 2 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null, stop_details: null, container: null },
        usage: {
          input_tokens: null,
          cache_creation_input_tokens: null,
          cache_read_input_tokens: null,
          output_tokens: 25,
          output_tokens_details: null,
          server_tool_use: null,
        },
      },
      { type: 'message_stop' },
    ];

    const chunks = await collect(openAiChunks(replay(events), CREATED));

    expect(chunks.every((chunk) => chunk.id === 'msg_1' && chunk.created === CREATED)).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(contentOf(chunks)).toBe('Checking');
    expect(toolCallsOf(chunks)).toEqual([
      { index: 0, id: 'toolu_a', type: 'function', function: { name: 'lookup', arguments: '' } },
      { index: 0, function: { arguments: '{"word":' } },
      { index: 0, function: { arguments: '"cat"}' } },
      { index: 1, id: 'toolu_b', type: 'function', function: { name: 'search', arguments: '' } },
      { index: 1, function: { arguments: '{}' } },
    ]);
    expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason)).toHaveLength(1);
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toEqual({
      id: 'msg_1',
      object: 'chat.completion.chunk',
      created: CREATED,
      model: 'claude-x',
      choices: [],
      usage: {
        prompt_tokens: 42,
        completion_tokens: 25,
        total_tokens: 67,
        prompt_tokens_details: { cached_tokens: 30 },
      },
    });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it('refuses a stream that does not begin with message_start', async () => {
    const events: Anthropic.RawMessageStreamEvent[] = [
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'x' } },
    ];
    await expect(collect(openAiChunks(replay(events), CREATED))).rejects.toThrow(/message_start/);
  });
});

describe('Anthropic upstream, driven by the official SDK against the fake API', () => {
  let fake: FakeAnthropic;
  let client: Anthropic;
  const options = { timeout: 2000 };

  beforeAll(async () => {
    fake = await startFakeAnthropic();
    client = anthropicClient('sk-ant-test', fake.url);
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  const failure = (call: Promise<unknown>) => call.then(() => undefined, classifyAnthropic);

  it('answers a chat completion in OpenAI’s shape, sending the key, the version header and the translation', async () => {
    const completion = await anthropicChat(client, body({ max_tokens: 64 }), 'fake-claude', options, CREATED);

    expect(completion).toMatchObject({ object: 'chat.completion', created: CREATED, model: 'fake-claude' });
    expect(completion.id).toMatch(/^msg_fake_\d+$/);
    expect(completion.choices).toEqual([
      {
        index: 0,
        finish_reason: 'stop',
        logprobs: null,
        message: { role: 'assistant', content: 'Fake reply to: Hello there world', refusal: null },
      },
    ]);
    // Words as tokens: "Be brief." and "Hello there world" in, six words out.
    expect(completion.usage).toEqual({
      prompt_tokens: 5,
      completion_tokens: 6,
      total_tokens: 11,
      prompt_tokens_details: { cached_tokens: 0 },
    });

    const [request] = fake.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/messages', apiKey: 'sk-ant-test' });
    expect(request.headers.authorization).toBe('Bearer sk-ant-test');
    expect(request.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(request.body).toEqual({
      model: 'fake-claude',
      max_tokens: 64,
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there world' }] }],
    });
  });

  it('answers after tool results, stops at a stop sequence, and cuts at max_tokens', async () => {
    const afterTools = await anthropicChat(
      client,
      body({
        messages: [
          { role: 'user', content: 'Look it up' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'lookup', arguments: '{}' } }],
          },
          { role: 'tool', tool_call_id: 'call_9', content: 'found it' },
        ],
        tools: [lookup],
      }),
      'fake-claude',
      options,
      CREATED,
    );
    expect(afterTools.choices[0].message.content).toBe('Fake reply to: found it');

    const stopped = await anthropicChat(client, body({ stop: ['there'] }), 'fake-claude', options, CREATED);
    expect(stopped.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'Fake reply to: Hello' } });

    const cut = await anthropicChat(client, body({ max_completion_tokens: 2 }), 'fake-claude', options, CREATED);
    expect(cut.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Fake reply' } });
    expect(cut.usage?.completion_tokens).toBe(2);
  });

  it('calls a forced tool, and answers structured output with JSON', async () => {
    const called = await anthropicChat(
      client,
      body({ tools: [lookup, search], tool_choice: { type: 'function', function: { name: 'search' } } }),
      'fake-claude',
      options,
      CREATED,
    );
    expect(called.choices[0].finish_reason).toBe('tool_calls');
    expect(called.choices[0].message.content).toBeNull();
    expect(called.choices[0].message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^toolu_fake_/),
        type: 'function',
        function: { name: 'search', arguments: '{"ok":true}' },
      },
    ]);
    expect(fake.requests[0].body.tool_choice).toEqual({ type: 'tool', name: 'search' });

    const schema = { type: 'object', properties: { reply: { type: 'string' } }, required: ['reply'] };
    const structured = await anthropicChat(
      client,
      body({ response_format: { type: 'json_schema', json_schema: { name: 'reply', schema } } }),
      'fake-claude',
      options,
      CREATED,
    );
    expect(JSON.parse(structured.choices[0].message.content!)).toEqual({ reply: 'Fake reply to: Hello there world' });
    expect(fake.requests[1].body.output_config).toEqual({ format: { type: 'json_schema', schema } });
  });

  it('streams the same text as OpenAI chunks, with one finish chunk and a last usage chunk', async () => {
    const whole = await anthropicChat(client, body(), 'fake-claude', options, CREATED);
    const chunks = await collect(await anthropicChatStream(client, body(), 'fake-claude', options, CREATED));

    expect(fake.requests[1].body.stream).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(contentOf(chunks)).toBe('Fake reply to: Hello there world');
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length).toBe(6);
    const finished = chunks.filter((chunk) => chunk.choices[0]?.finish_reason);
    expect(finished).toHaveLength(1);
    expect(finished[0].choices[0].finish_reason).toBe('stop');
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(whole.usage);
    expect(chunks.filter((chunk) => chunk.usage)).toHaveLength(1);
  });

  it('streams a forced tool call as tool call deltas whose arguments join to the input', async () => {
    const chunks = await collect(
      await anthropicChatStream(
        client,
        body({ tools: [lookup], tool_choice: 'required' }),
        'fake-claude',
        options,
        CREATED,
      ),
    );

    const calls = toolCallsOf(chunks);
    expect(calls[0]).toEqual({
      index: 0,
      id: expect.stringMatching(/^toolu_fake_/),
      type: 'function',
      function: { name: 'lookup', arguments: '' },
    });
    expect(calls.length).toBe(3);
    expect(JSON.parse(calls.map((call) => call.function?.arguments ?? '').join(''))).toEqual(FAKE_TOOL_INPUT);
    expect(contentOf(chunks)).toBe('');
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)?.usage).toMatchObject({ completion_tokens: 2 });
  });

  it('classifies 429 and 529 as retry with Retry-After, 401 and 403 as refused-key, 400 as rejected', async () => {
    fake.behave('sk-ant-test', { kind: 'status', status: 429, retryAfterSeconds: 7, message: 'Slow down.' }, 1);
    expect(await failure(anthropicChat(client, body(), 'fake-claude', options, CREATED))).toEqual({
      kind: 'retry',
      message: '429 Slow down.',
      status: 429,
      retryAfterMs: 7000,
      timeout: false,
    });

    fake.behave('sk-ant-test', { kind: 'status', status: 529, message: 'Overloaded' }, 1);
    expect(await failure(anthropicChatStream(client, body(), 'fake-claude', options, CREATED))).toEqual({
      kind: 'retry',
      message: '529 Overloaded',
      status: 529,
      retryAfterMs: undefined,
      timeout: false,
    });

    fake.acceptOnly(['sk-ant-other']);
    expect(await failure(anthropicChat(client, body(), 'fake-claude', options, CREATED))).toEqual({
      kind: 'refused-key',
      message: '401 invalid x-api-key',
      status: 401,
    });
    fake.acceptOnly(null);

    fake.behave('sk-ant-test', { kind: 'status', status: 403, message: 'This key may not use the model.' }, 1);
    expect(await failure(anthropicChat(client, body(), 'fake-claude', options, CREATED))).toMatchObject({
      kind: 'refused-key',
      status: 403,
    });

    fake.behave('sk-ant-test', { kind: 'status', status: 400, message: 'prompt is too long' }, 1);
    expect(await failure(anthropicChat(client, body(), 'fake-claude', options, CREATED))).toEqual({
      kind: 'rejected',
      message: '400 prompt is too long',
      status: 400,
    });
  });

  it('passes on the API’s own refusal of a request it translated, as rejected', async () => {
    const orphan = body({ messages: [{ role: 'tool', tool_call_id: 'call_unknown', content: 'x' }] });

    const result = await failure(anthropicChat(client, orphan, 'fake-claude', options, CREATED));

    expect(result).toMatchObject({ kind: 'rejected', status: 400 });
    expect(result && 'message' in result && result.message).toContain('unexpected tool_use_id');
  });

  it('classifies an abort as aborted, and a hang past a short timeout as a timeout', async () => {
    fake.behaveAll({ kind: 'hang' });
    const controller = new AbortController();
    const aborted = failure(
      anthropicChat(client, body(), 'fake-claude', { ...options, signal: controller.signal }, CREATED),
    );
    while (fake.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    expect(await aborted).toEqual({ kind: 'aborted' });

    const started = Date.now();
    const timedOut = await failure(anthropicChat(client, body(), 'fake-claude', { timeout: 200 }, CREATED));
    expect(timedOut).toEqual({ kind: 'retry', message: 'The upstream timed out', timeout: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('classifies an unreachable upstream as retry', async () => {
    const closed = await startFakeAnthropic();
    await closed.close();

    const unreachable = await failure(
      anthropicChat(anthropicClient('sk-ant-test', closed.url), body(), 'fake-claude', options, CREATED),
    );

    expect(unreachable).toMatchObject({ kind: 'retry', timeout: false });
    expect(unreachable && 'message' in unreachable && unreachable.message).toMatch(/^The upstream is unreachable/);
  });

  it('throws undici’s error, not the SDK’s, when the connection drops mid-answer, streamed or not', async () => {
    fake.behave('sk-ant-test', { kind: 'drop-mid-stream' }, 2);
    const received: OpenAI.ChatCompletionChunk[] = [];

    const stream = await anthropicChatStream(client, body(), 'fake-claude', options, CREATED);
    const broken = await (async () => {
      for await (const chunk of stream) received.push(chunk);
    })().catch((err: unknown) => err);
    const plain = await anthropicChat(client, body(), 'fake-claude', options, CREATED).catch((err: unknown) => err);

    expect(received[0].choices[0].delta.role).toBe('assistant');
    expect(received.some((chunk) => chunk.choices[0]?.finish_reason)).toBe(false);
    // Left to classify's fallback (retry), as for the OpenAI SDK.
    for (const err of [broken, plain]) {
      expect(err).toMatchObject({ name: 'TypeError', message: 'terminated' });
      expect(classifyAnthropic(err)).toBeNull();
    }
  });

  it('takes an API root entered with /v1, as for OpenAI', async () => {
    const completion = await anthropicChat(
      anthropicClient('sk-ant-test', `${fake.url}/v1/`),
      body(),
      'fake-claude',
      options,
      CREATED,
    );
    expect(completion.choices[0].message.content).toBe('Fake reply to: Hello there world');
    expect(fake.requests[0].path).toBe('/v1/messages');
  });
});
