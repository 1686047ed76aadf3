import { describe, expect, it } from '@jest/globals';
import type OpenAI from 'openai';
import { PNG } from 'pngjs';
import {
  countTokens,
  LOCAL_MODELS,
  localChat,
  localChatChunks,
  localEmbeddings,
  localImage,
  localVideo,
  promptTokens,
} from './local-models.js';

type Body = OpenAI.ChatCompletionCreateParams;

const NOW = new Date('2026-03-01T12:00:00.750Z');
const chatBody = (text: string, extra: Partial<Body> = {}): Body => ({
  model: LOCAL_MODELS.chat,
  messages: [{ role: 'user', content: text }],
  ...extra,
});
const contentOf = (body: Body): string => localChat(body, NOW).choices[0].message.content ?? '';
const streamedContent = (chunks: OpenAI.ChatCompletionChunk[], index = 0): string =>
  chunks
    .flatMap((chunk) => chunk.choices.filter((choice) => choice.index === index).map((c) => c.delta.content ?? ''))
    .join('');

const TOOLS: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } },
  { type: 'function', function: { name: 'get_time' } },
];

function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, value, i) => sum + value * b[i], 0);
}

const embeddingOf = (input: string, dimensions?: number): number[] =>
  localEmbeddings({ model: LOCAL_MODELS.embedding, input, dimensions }).data[0].embedding;

/** Image descriptors in a GIF, walking its blocks (extensions and frames) from the header to the trailer. */
function gifFrameCount(gif: Buffer): number {
  const colourTableBytes = (flags: number) => (flags & 0x80 ? 3 * (1 << ((flags & 0x07) + 1)) : 0);
  let offset = 13 + colourTableBytes(gif[10]);
  const skipSubBlocks = () => {
    while (gif[offset] !== 0) offset += gif[offset] + 1;
    offset += 1;
  };
  let frames = 0;
  while (offset < gif.length) {
    const introducer = gif[offset];
    if (introducer === 0x3b) return frames;
    if (introducer === 0x21) {
      offset += 2;
      skipSubBlocks();
    } else if (introducer === 0x2c) {
      frames++;
      offset += 10 + colourTableBytes(gif[offset + 9]) + 1;
      skipSubBlocks();
    } else {
      throw new Error(`unexpected GIF block 0x${introducer.toString(16)} at ${offset}`);
    }
  }
  throw new Error('GIF has no trailer');
}

describe('local chat', () => {
  it('answers deterministically with a readable reply to the last user message', () => {
    const body: Body = {
      model: LOCAL_MODELS.chat,
      messages: [
        { role: 'user', content: 'An earlier question' },
        { role: 'assistant', content: 'An earlier answer' },
        { role: 'user', content: 'What is the capital of France, and why is it famous?' },
      ],
    };
    const completion = localChat(body, NOW);

    expect(localChat(body, NOW)).toEqual(completion);
    expect(completion).toMatchObject({ object: 'chat.completion', created: 1772366400, model: 'local-chat' });
    expect(completion.id).toMatch(/^chatcmpl-local-[0-9a-f]+$/);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant' } });
    const content = completion.choices[0].message.content ?? '';
    expect(content.startsWith('Local model reply to: "What is the capital of France, and why is it famous?".')).toBe(
      true,
    );
    expect(countTokens(content)).toBeGreaterThanOrEqual(30);
    expect(countTokens(content)).toBeLessThanOrEqual(70);
    expect(contentOf(chatBody('Something else entirely'))).not.toEqual(content);
  });

  it('quotes only the first 60 characters of a long message', () => {
    const content = contentOf(chatBody(`${'a'.repeat(60)}TAIL`));
    expect(content.startsWith(`Local model reply to: "${'a'.repeat(60)}".`)).toBe(true);
    expect(content).not.toContain('TAIL');
  });

  it('reports real token counts of the prompt and the reply', () => {
    const body: Body = {
      model: LOCAL_MODELS.chat,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Hello there' },
      ],
    };
    const completion = localChat(body, NOW);
    const content = completion.choices[0].message.content ?? '';

    expect(promptTokens(body.messages)).toBe(3 + countTokens('You are terse.') + 3 + countTokens('Hello there') + 3);
    expect(completion.usage).toEqual({
      prompt_tokens: promptTokens(body.messages),
      completion_tokens: countTokens(content),
      total_tokens: promptTokens(body.messages) + countTokens(content),
    });
  });

  it('counts text parts and tool calls in prompt tokens', () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Describe this' },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'A cat.' },
    ];
    const expected =
      3 +
      countTokens('Be brief.') +
      3 +
      countTokens('Describe this') +
      3 +
      countTokens('lookup{"q":"cat"}') +
      3 +
      countTokens('A cat.') +
      3;
    expect(promptTokens(messages)).toBe(expected);
  });

  it('answers messages that have no text', () => {
    const body: Body = {
      model: LOCAL_MODELS.chat,
      messages: [
        { role: 'developer', content: 'Describe images.' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
      ],
    };
    const completion = localChat(body, NOW);
    expect(completion.choices[0].message.content).toMatch(/^Local model reply to: "\(no text\)"\. /);
    expect(completion.choices[0].finish_reason).toBe('stop');
  });

  it('cuts the reply at max_tokens exactly, preferring max_completion_tokens', () => {
    const full = contentOf(chatBody('Tell me a story'));
    const cut = localChat(chatBody('Tell me a story', { max_tokens: 7 }), NOW);

    expect(cut.choices[0].finish_reason).toBe('length');
    expect(cut.usage?.completion_tokens).toBe(7);
    const content = cut.choices[0].message.content ?? '';
    expect(countTokens(content)).toBe(7);
    expect(full.startsWith(content)).toBe(true);

    const preferred = localChat(chatBody('Tell me a story', { max_tokens: 7, max_completion_tokens: 3 }), NOW);
    expect(preferred.usage?.completion_tokens).toBe(3);

    const roomy = localChat(chatBody('Tell me a story', { max_tokens: 1000 }), NOW);
    expect(roomy.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: full } });
  });

  it('cuts inside multi-byte characters without corrupting later replies', () => {
    const body = chatBody('🦄🐙 emoji 🦄 and 漢字');
    const full = contentOf(body);
    for (let limit = 1; limit <= 20; limit++) {
      const cut = localChat({ ...body, max_tokens: limit }, NOW);
      expect(cut.usage?.completion_tokens).toBe(limit);
      expect(full.startsWith(cut.choices[0].message.content ?? '')).toBe(true);
    }
    expect(contentOf(body)).toBe(full);
  });

  it('gives n different, deterministic choices', () => {
    const body = chatBody('Suggest a name', { n: 20 });
    const completion = localChat(body, NOW);
    const contents = completion.choices.map((choice) => choice.message.content);

    expect(completion.choices.map((choice) => choice.index)).toEqual([...Array(20).keys()]);
    expect(new Set(contents).size).toBe(20);
    expect(contents[0]).toBe(contentOf(chatBody('Suggest a name')));
    expect(localChat(body, NOW)).toEqual(completion);
    expect(completion.usage?.completion_tokens).toBe(contents.reduce((sum, text) => sum + countTokens(text ?? ''), 0));
    expect(() => localChat(chatBody('Too many', { n: 129 }), NOW)).toThrow(RangeError);
  });

  it('calls the required or named function when tools are forced', () => {
    const required = localChat(chatBody('Weather?', { tools: TOOLS, tool_choice: 'required' }), NOW);
    const [choice] = required.choices;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_local_[0-9a-f]+$/),
        type: 'function',
        function: { name: 'get_weather', arguments: '{}' },
      },
    ]);
    expect(required.usage?.completion_tokens).toBe(countTokens('get_weather') + countTokens('{}'));

    const named = localChat(
      chatBody('Time?', { tools: TOOLS, tool_choice: { type: 'function', function: { name: 'get_time' } } }),
      NOW,
    );
    expect(named.choices[0].message.tool_calls).toMatchObject([{ function: { name: 'get_time', arguments: '{}' } }]);

    const auto = localChat(chatBody('Weather?', { tools: TOOLS, tool_choice: 'auto' }), NOW);
    expect(auto.choices[0].finish_reason).toBe('stop');
    expect(auto.choices[0].message.tool_calls).toBeUndefined();
  });

  it('answers with a JSON object when a JSON response format is asked for', () => {
    for (const response_format of [
      { type: 'json_object' },
      { type: 'json_schema', json_schema: { name: 'reply', schema: { type: 'object' } } },
    ] as const) {
      const content = contentOf(chatBody('Give me "JSON"', { response_format }));
      const parsed = JSON.parse(content) as { reply: string };
      expect(parsed.reply.startsWith('Local model reply to: "Give me "JSON"".')).toBe(true);
    }
  });
});

describe('local chat streaming', () => {
  it('streams deltas that concatenate to the non-streamed reply', () => {
    const body = chatBody('Stream this please', { stream: true });
    const chunks = localChatChunks(body, NOW);
    const completion = localChat(body, NOW);

    expect(localChatChunks(body, NOW)).toEqual(chunks);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(streamedContent(chunks)).toBe(completion.choices[0].message.content);
    const contentDeltas = chunks.filter((chunk) => chunk.choices[0]?.delta.content);
    expect(contentDeltas.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({
        id: completion.id,
        object: 'chat.completion.chunk',
        created: 1772366400,
        model: 'local-chat',
      });
      expect(chunk).not.toHaveProperty('usage');
    }
    const last = chunks[chunks.length - 1];
    expect(last.choices[0]).toMatchObject({ finish_reason: 'stop', delta: {} });
    expect(chunks.slice(0, -1).every((chunk) => chunk.choices[0].finish_reason === null)).toBe(true);
  });

  it('ends with a usage chunk only when include_usage is set', () => {
    const body = chatBody('Count me', { stream: true, stream_options: { include_usage: true }, max_tokens: 9 });
    const chunks = localChatChunks(body, NOW);
    const last = chunks[chunks.length - 1];

    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(localChat(body, NOW).usage);
    expect(last.usage?.completion_tokens).toBe(9);
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
    expect(chunks[chunks.length - 2].choices[0].finish_reason).toBe('length');
    expect(streamedContent(chunks)).toBe(localChat(body, NOW).choices[0].message.content);
  });

  it('streams every one of n choices', () => {
    const body = chatBody('Two please', { stream: true, n: 2 });
    const chunks = localChatChunks(body, NOW);
    const completion = localChat(body, NOW);
    for (const choice of completion.choices) {
      expect(streamedContent(chunks, choice.index)).toBe(choice.message.content);
    }
  });

  it('streams a forced tool call as tool call deltas', () => {
    const body = chatBody('Weather?', { stream: true, tools: TOOLS, tool_choice: 'required' });
    const chunks = localChatChunks(body, NOW);
    const call = localChat(body, NOW).choices[0].message.tool_calls?.[0];
    const toolDeltas = chunks.flatMap((chunk) => chunk.choices[0].delta.tool_calls ?? []);

    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant', content: null });
    expect(toolDeltas[0]).toEqual({
      index: 0,
      id: call?.id,
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    expect(toolDeltas.map((delta) => delta.function?.arguments ?? '').join('')).toBe('{}');
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('tool_calls');
  });
});

describe('local embeddings', () => {
  it('returns deterministic unit vectors of the asked dimensions', () => {
    const response = localEmbeddings({ model: LOCAL_MODELS.embedding, input: ['first text', 'second text'] });
    expect(localEmbeddings({ model: LOCAL_MODELS.embedding, input: ['first text', 'second text'] })).toEqual(response);
    expect(response).toMatchObject({ object: 'list', model: 'local-embedding' });
    expect(response.data.map(({ index, object }) => ({ index, object }))).toEqual([
      { index: 0, object: 'embedding' },
      { index: 1, object: 'embedding' },
    ]);
    expect(response.usage).toEqual({
      prompt_tokens: countTokens('first text') + countTokens('second text'),
      total_tokens: countTokens('first text') + countTokens('second text'),
    });
    for (const dimensions of [undefined, 1, 64, 2048]) {
      const vector = embeddingOf('Some words to embed', dimensions);
      expect(vector).toHaveLength(dimensions ?? 256);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
    expect(Math.hypot(...embeddingOf(''))).toBeCloseTo(1, 5);
  });

  it('puts texts that share words closer than unrelated texts', () => {
    const cat = embeddingOf('The cat sat on the mat');
    const similar = embeddingOf('A cat sat on a mat');
    const unrelated = embeddingOf('Quarterly revenue grew by ten percent');
    expect(cosine(cat, similar)).toBeGreaterThan(0.5);
    expect(cosine(cat, similar)).toBeGreaterThan(cosine(cat, unrelated) + 0.3);
  });

  it('encodes base64 as little-endian float32 bytes of the same vector', () => {
    const body = { model: LOCAL_MODELS.embedding, input: 'Encode me', dimensions: 32 };
    const floats = localEmbeddings(body).data[0].embedding;
    const encoded = localEmbeddings({ ...body, encoding_format: 'base64' }).data[0].embedding as unknown as string;
    const bytes = Buffer.from(encoded, 'base64');

    expect(typeof encoded).toBe('string');
    expect(bytes).toHaveLength(32 * 4);
    expect(Array.from({ length: 32 }, (_, i) => bytes.readFloatLE(i * 4))).toEqual(floats);
  });

  it('refuses token arrays, empty input and out-of-range dimensions', () => {
    expect(() => localEmbeddings({ model: LOCAL_MODELS.embedding, input: [1, 2, 3] })).toThrow(/text input only/);
    expect(() => localEmbeddings({ model: LOCAL_MODELS.embedding, input: [[1, 2]] })).toThrow(/text input only/);
    expect(() => localEmbeddings({ model: LOCAL_MODELS.embedding, input: [] })).toThrow(/empty/);
    expect(() => embeddingOf('text', 2049)).toThrow(RangeError);
    expect(() => embeddingOf('text', 0)).toThrow(RangeError);
  });
});

describe('local image', () => {
  it('draws a PNG of the asked size that depends only on the prompt', () => {
    const image = localImage('a red fox', 64, 96);
    const decoded = PNG.sync.read(image);

    expect([decoded.width, decoded.height]).toEqual([64, 96]);
    expect(localImage('a red fox', 64, 96).equals(image)).toBe(true);
    expect(PNG.sync.read(localImage('a blue whale', 64, 96)).data.equals(decoded.data)).toBe(false);
    expect(new Set(Array.from({ length: 64 * 96 }, (_, i) => decoded.data.readUInt32BE(i * 4))).size).toBeGreaterThan(
      10,
    );
  });

  it('refuses sizes outside 64..2048', () => {
    expect(() => localImage('x', 63, 64)).toThrow(RangeError);
    expect(() => localImage('x', 64, 2049)).toThrow(RangeError);
    expect(() => localImage('x', 64.5, 64)).toThrow(RangeError);
  });
});

describe('local video', () => {
  it('encodes a GIF89a of the asked size with four frames a second, at most 24', () => {
    const video = localVideo('waves at sunset', 2, 80, 64);

    expect(video.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect([video.readUInt16LE(6), video.readUInt16LE(8)]).toEqual([80, 64]);
    expect(gifFrameCount(video)).toBe(8);
    expect(gifFrameCount(localVideo('waves at sunset', 60, 64, 64))).toBe(24);
    expect(gifFrameCount(localVideo('waves at sunset', 0.1, 64, 64))).toBe(1);
  });

  it('depends only on the prompt', () => {
    const video = localVideo('a spinning top', 1, 64, 64);
    expect(localVideo('a spinning top', 1, 64, 64).equals(video)).toBe(true);
    expect(localVideo('a falling leaf', 1, 64, 64).equals(video)).toBe(false);
  });

  it('refuses sizes outside 64..1024 and durations that are not positive', () => {
    expect(() => localVideo('x', 1, 1025, 64)).toThrow(RangeError);
    expect(() => localVideo('x', 1, 64, 32)).toThrow(RangeError);
    expect(() => localVideo('x', 0, 64, 64)).toThrow(RangeError);
    expect(() => localVideo('x', Number.NaN, 64, 64)).toThrow(RangeError);
  });
});
