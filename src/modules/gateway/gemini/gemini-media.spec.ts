import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { PNG } from 'pngjs';
import { type FakeGemini, startFakeGemini } from '../../../../test/helpers/fake-gemini.js';
import { localImage } from '../local/local-models.js';
import {
  classifyGemini,
  GEMINI_NATIVE_BASE_URL,
  geminiClient,
  geminiImageEdit,
  geminiImages,
  GeminiRejection,
  pollGeminiVideo,
  startGeminiVideo,
} from './gemini-media.js';

const KEY = 'fake-gemini-key';
const IMAGE_MODEL = 'gemini-2.5-flash-image';
const VIDEO_MODEL = 'veo-3.0-generate-001';
const TIMEOUT_MS = 5000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const failureOf = async (call: Promise<unknown>) => {
  const err = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
  return { err, failure: classifyGemini(err) };
};

const scratchDirs = async () => (await readdir(tmpdir())).filter((name) => name.startsWith('atrium-gemini-'));

describe('Gemini media through @google/genai', () => {
  let fake: FakeGemini;
  const client = () => geminiClient(KEY, fake.url);

  beforeAll(async () => {
    fake = await startFakeGemini();
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  it('makes n images with a Gemini image model, one generateContent call each, at the nearest aspect ratio', async () => {
    const { images, contentType } = await geminiImages(client(), IMAGE_MODEL, {
      prompt: 'a lighthouse at dusk',
      n: 2,
      size: '1792x1024',
      timeoutMs: TIMEOUT_MS,
    });

    expect(contentType).toBe('image/png');
    expect(images).toHaveLength(2);
    for (const image of images) {
      expect(image.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      const png = PNG.sync.read(image);
      // 16:9 at the fake's 64-pixel short side.
      expect({ width: png.width, height: png.height }).toEqual({ width: 114, height: 64 });
    }
    expect(fake.requests).toHaveLength(2);
    for (const request of fake.requests) {
      expect(request).toMatchObject({
        method: 'POST',
        path: `/v1beta/models/${IMAGE_MODEL}:generateContent`,
        apiKey: KEY,
      });
      expect(request.body).toEqual({
        contents: [{ role: 'user', parts: [{ text: 'a lighthouse at dusk' }] }],
        generationConfig: { responseModalities: ['IMAGE'], imageConfig: { aspectRatio: '16:9' } },
      });
    }
  });

  it('maps sizes to the nearest ratio the image models take, and sends none without a size', async () => {
    const ratioFor = async (size: string | undefined) => {
      fake.reset();
      await geminiImages(client(), IMAGE_MODEL, { prompt: 'p', n: 1, size, timeoutMs: TIMEOUT_MS });
      return fake.requests[0].body.generationConfig.imageConfig?.aspectRatio;
    };
    expect(await ratioFor('1024x1024')).toBe('1:1');
    expect(await ratioFor('1536x1024')).toBe('3:2');
    expect(await ratioFor('1024x1792')).toBe('9:16');
    expect(await ratioFor('768x1024')).toBe('3:4');
    expect(await ratioFor('2560x1080')).toBe('21:9');
    expect(await ratioFor(undefined)).toBeUndefined();
    await expect(
      geminiImages(client(), IMAGE_MODEL, { prompt: 'p', n: 1, size: 'big', timeoutMs: TIMEOUT_MS }),
    ).rejects.toThrow(GeminiRejection);
  });

  it('edits an image: the image goes inline beside the prompt, and the edit comes back', async () => {
    const original = localImage('original', 64, 64);
    const { images, contentType } = await geminiImageEdit(client(), IMAGE_MODEL, {
      prompt: 'add a red hat',
      image: original,
      contentType: 'image/png',
      timeoutMs: TIMEOUT_MS,
    });

    expect(contentType).toBe('image/png');
    expect(images).toHaveLength(1);
    expect(images[0].subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(images[0].equals(original)).toBe(false);
    expect(PNG.sync.read(images[0]).width).toBe(64);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].path).toBe(`/v1beta/models/${IMAGE_MODEL}:generateContent`);
    expect(fake.requests[0].body.contents).toEqual([
      {
        role: 'user',
        parts: [
          { text: 'add a red hat' },
          { inlineData: { mimeType: 'image/png', data: original.toString('base64') } },
        ],
      },
    ]);
    expect(fake.requests[0].body.generationConfig.responseModalities).toEqual(['IMAGE']);
  });

  it('says why there is no image: a blocked prompt, or a model that answered in words', async () => {
    fake.behave(KEY, { kind: 'blocked', reason: 'PROHIBITED_CONTENT' });
    const blocked = await failureOf(geminiImages(client(), IMAGE_MODEL, { prompt: 'p', n: 1, timeoutMs: TIMEOUT_MS }));
    expect(blocked.err).toBeInstanceOf(GeminiRejection);
    expect((blocked.err as Error).message).toBe(
      'The upstream returned no image: the prompt was blocked (PROHIBITED_CONTENT)',
    );
    expect(blocked.failure).toMatchObject({ kind: 'rejected', status: 400 });

    fake.reset();
    const words = await failureOf(
      geminiImages(client(), 'gemini-2.5-flash', { prompt: 'a cat', n: 1, timeoutMs: TIMEOUT_MS }),
    );
    expect((words.err as Error).message).toBe(
      'The upstream returned no image: it answered in text: Fake reply to: a cat',
    );
  });

  it('refuses Imagen models without calling the upstream (the SDK serves them on Vertex AI only)', async () => {
    const { err, failure } = await failureOf(
      geminiImages(client(), 'imagen-4.0-generate-001', {
        prompt: 'p',
        n: 2,
        size: '1024x1024',
        timeoutMs: TIMEOUT_MS,
      }),
    );
    expect(err).toBeInstanceOf(GeminiRejection);
    expect((err as Error).message).toContain('Imagen models cannot be called through the Gemini Developer API');
    expect(failure).toMatchObject({ kind: 'rejected', status: 400 });
    expect(fake.requests).toHaveLength(0);
  });

  it('starts a Veo video, polls it not done, then done, and downloads it with the key (no file left behind)', async () => {
    const before = await scratchDirs();
    const name = await startGeminiVideo(client(), VIDEO_MODEL, {
      prompt: 'waves on a beach',
      seconds: 6,
      size: '720x1280',
      timeoutMs: TIMEOUT_MS,
    });
    expect(name).toMatch(new RegExp(`^models/${VIDEO_MODEL}/operations/[a-z0-9]+$`));
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      path: `/v1beta/models/${VIDEO_MODEL}:predictLongRunning`,
      apiKey: KEY,
      body: {
        instances: [{ prompt: 'waves on a beach' }],
        parameters: { sampleCount: 1, durationSeconds: 6, aspectRatio: '9:16' },
      },
    });

    expect(await pollGeminiVideo(client(), name, TIMEOUT_MS)).toEqual({ done: false });
    const done = await pollGeminiVideo(client(), name, TIMEOUT_MS);
    if (!done.done || !('video' in done)) throw new Error(`expected a video, got ${JSON.stringify(done)}`);

    // The fake's videos are animated GIFs (localVideo), served as such.
    expect(done.contentType).toBe('image/gif');
    expect(done.video.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    // 9:16 at the fake's 64-pixel short side: the logical screen size in the GIF header.
    expect([done.video.readUInt16LE(6), done.video.readUInt16LE(8)]).toEqual([64, 114]);
    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST /v1beta/models/${VIDEO_MODEL}:predictLongRunning`,
      `GET /v1beta/${name}`,
      `GET /v1beta/${name}`,
      expect.stringMatching(/^GET \/v1beta\/files\/[a-z0-9]+:download$/),
    ]);
    const downloadRequest = fake.requests[3];
    expect(downloadRequest.query).toEqual({ alt: 'media' });
    expect(downloadRequest.apiKey).toBe(KEY);
    expect(await scratchDirs()).toEqual(before);
  });

  it('takes a video the upstream sends inline, as base64 bytes, without a download', async () => {
    fake.configureVideos({ pendingPolls: 0, delivery: 'bytes' });
    const name = await startGeminiVideo(client(), VIDEO_MODEL, {
      prompt: 'rain',
      size: '1280x720',
      timeoutMs: TIMEOUT_MS,
    });
    const done = await pollGeminiVideo(client(), name, TIMEOUT_MS);

    expect(done).toMatchObject({ done: true, contentType: 'image/gif' });
    expect('video' in done && done.video.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0].body.parameters).toEqual({ sampleCount: 1, aspectRatio: '16:9' });
  });

  it('reports an operation that ended in an error, or whose video was filtered, as done with that error', async () => {
    fake.configureVideos({ pendingPolls: 0 });
    fake.behave(KEY, { kind: 'operation-error', code: 13, message: 'Video generation failed upstream.' }, 1);
    const failed = await startGeminiVideo(client(), VIDEO_MODEL, { prompt: 'p', timeoutMs: TIMEOUT_MS });
    expect(await pollGeminiVideo(client(), failed, TIMEOUT_MS)).toEqual({
      done: true,
      error: 'Video generation failed upstream. (code 13)',
    });

    fake.behave(KEY, { kind: 'blocked', reason: 'The video may show a real person.' }, 1);
    const filtered = await startGeminiVideo(client(), VIDEO_MODEL, { prompt: 'p', timeoutMs: TIMEOUT_MS });
    expect(await pollGeminiVideo(client(), filtered, TIMEOUT_MS)).toEqual({
      done: true,
      error: 'The upstream returned no video: filtered (The video may show a real person.)',
    });
  });

  it('fails a download that breaks off mid-body with undici’s error (left to the caller), not a crash', async () => {
    fake.configureVideos({ pendingPolls: 0 });
    const name = await startGeminiVideo(client(), VIDEO_MODEL, { prompt: 'p', timeoutMs: TIMEOUT_MS });
    // The key's rule answers the poll; then the every-key rule breaks off the download. Through the SDK's own
    // download unguarded, this would be an 'error' event nobody listens to, which ends the process.
    fake.behave(KEY, { kind: 'ok' }, 1);
    fake.behaveAll({ kind: 'drop-mid-body' }, 1);
    const { err, failure } = await failureOf(pollGeminiVideo(client(), name, TIMEOUT_MS));
    // undici's TypeError('terminated'); under Jest's vm context the SDK wraps it, not recognising another realm's Error.
    expect((err as Error).message).toContain('terminated');
    expect(failure).toBeNull();
    expect(fake.requests.map((request) => request.path.split(':').at(-1))).toEqual([
      'predictLongRunning',
      expect.stringMatching(/^\/v1beta\/models\//),
      'download',
    ]);
  });

  it('classifies upstream failures: 429 and 5xx retry (RetryInfo delay), 401/403 and bad keys refuse the key, 4xx reject', async () => {
    const attempt = () => geminiImages(client(), IMAGE_MODEL, { prompt: 'p', n: 1, timeoutMs: TIMEOUT_MS });

    fake.behave(KEY, { kind: 'status', status: 429, retryAfterSeconds: 7, message: 'Resource has been exhausted.' }, 1);
    const limited = await failureOf(attempt());
    expect(limited.failure).toEqual({
      kind: 'retry',
      message: 'RESOURCE_EXHAUSTED: Resource has been exhausted.',
      status: 429,
      retryAfterMs: 7000,
      timeout: false,
    });

    fake.behave(KEY, { kind: 'status', status: 503 }, 1);
    expect((await failureOf(attempt())).failure).toMatchObject({ kind: 'retry', status: 503, timeout: false });

    fake.behave(KEY, { kind: 'status', status: 401, message: 'Request had invalid authentication credentials.' }, 1);
    expect((await failureOf(attempt())).failure).toEqual({
      kind: 'refused-key',
      message: 'UNAUTHENTICATED: Request had invalid authentication credentials.',
      status: 401,
    });

    fake.behave(KEY, { kind: 'status', status: 403 }, 1);
    expect((await failureOf(attempt())).failure).toMatchObject({ kind: 'refused-key', status: 403 });

    fake.behave(KEY, { kind: 'status', status: 400, message: 'Unsupported MIME type: image/heic' }, 1);
    expect((await failureOf(attempt())).failure).toEqual({
      kind: 'rejected',
      message: 'INVALID_ARGUMENT: Unsupported MIME type: image/heic',
      status: 400,
    });

    fake.acceptOnly(['another-key']);
    expect((await failureOf(attempt())).failure).toEqual({
      kind: 'refused-key',
      message: 'INVALID_ARGUMENT: API key not valid. Please pass a valid API key.',
      status: 400,
    });
  });

  it('classifies a call that outlives its timeout as a retryable timeout, and a cancelled one as aborted', async () => {
    fake.behaveAll({ kind: 'hang' });
    const started = Date.now();
    const timedOut = await failureOf(geminiImages(client(), IMAGE_MODEL, { prompt: 'p', n: 2, timeoutMs: 200 }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect((timedOut.err as Error).name).toBe('TimeoutError');
    expect(timedOut.failure).toEqual({ kind: 'retry', message: 'The upstream timed out', timeout: true });

    const polled = await failureOf(pollGeminiVideo(client(), `models/${VIDEO_MODEL}/operations/op1`, 200));
    expect(polled.failure).toMatchObject({ kind: 'retry', timeout: true });

    const controller = new AbortController();
    const call = geminiImages(client(), IMAGE_MODEL, {
      prompt: 'p',
      n: 1,
      timeoutMs: TIMEOUT_MS,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    expect((await failureOf(call)).failure).toEqual({ kind: 'aborted' });
  });

  it('leaves errors that are not the SDK’s to the caller, and targets the Gemini Developer API by default', () => {
    expect(classifyGemini(new Error('something else'))).toBeNull();
    expect(classifyGemini('a string')).toBeNull();
    expect(GEMINI_NATIVE_BASE_URL).toBe('https://generativelanguage.googleapis.com');
    expect(geminiClient(KEY).vertexai).toBe(false);
  });
});
