import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiError,
  type Fetch,
  type GenerateContentResponse,
  GenerateVideosOperation,
  type GenerateVideosResponse,
  GoogleGenAI,
  Modality,
  type Video,
} from '@google/genai';
import { type Failure, safeMessage } from '../failure.js';

/** The Gemini Developer API's root; the SDK adds the API version (v1beta). */
export const GEMINI_NATIVE_BASE_URL = 'https://generativelanguage.googleapis.com';

export interface GeminiImageRequest {
  prompt: string;
  n: number;
  /** 'WxH'; sent as the nearest aspect ratio the Gemini image models take. */
  size?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface GeminiImageEditRequest {
  prompt: string;
  image: Buffer;
  contentType: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface GeminiImages {
  images: Buffer[];
  contentType: string;
}

export interface GeminiVideoRequest {
  prompt: string;
  seconds?: number;
  /** 'WxH'; sent as 16:9 or 9:16, whichever is nearer. */
  size?: string;
  timeoutMs: number;
}

export type GeminiVideoPoll =
  { done: false } | { done: true; video: Buffer; contentType: string } | { done: true; error: string };

/**
 * A request no key of the upstream can serve: it answered without the media (a safety filter, usually), or the
 * request cannot be made with this SDK at all. Another key would fare no better.
 */
export class GeminiRejection extends Error {
  override readonly name = 'GeminiRejection';
}

// What the SDK documents for ImageConfig.aspectRatio (Gemini image models).
const IMAGE_ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '9:16', '16:9', '21:9'];
const VIDEO_ASPECT_RATIOS = ['16:9', '9:16'];
// Veo's output; the Gemini API names no type for a video it serves by URI.
const DEFAULT_VIDEO_TYPE = 'video/mp4';

/**
 * An SDK client for the Gemini Developer API. `vertexai` and the base URL are explicit so that the SDK's
 * environment variables (GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GEMINI_BASE_URL) cannot redirect it. No retryOptions:
 * the SDK retries only when given them, and the gateway retries with other keys itself.
 */
export function geminiClient(apiKey: string, baseUrl?: string): GoogleGenAI {
  return new GoogleGenAI({ apiKey, vertexai: false, httpOptions: { baseUrl: baseUrl ?? GEMINI_NATIVE_BASE_URL } });
}

/**
 * `n` images from a Gemini image model (gemini-*-image*) through generateContent. These models give one
 * candidate per call ("Multiple candidates is not enabled"), so `n` images are `n` concurrent calls.
 */
export async function geminiImages(
  client: GoogleGenAI,
  model: string,
  { prompt, n, size, timeoutMs, signal }: GeminiImageRequest,
): Promise<GeminiImages> {
  assertImageModel(model);
  if (!Number.isInteger(n) || n < 1) throw new GeminiRejection('n must be a positive integer.');
  const aspectRatio = size === undefined ? undefined : nearestRatio(size, IMAGE_ASPECT_RATIOS);
  const responses = await bounded(timeoutMs, signal, (abortSignal) =>
    Promise.all(
      Array.from({ length: n }, () =>
        client.models.generateContent({
          model,
          contents: [{ role: 'user', parts: [{ text: prompt }] }],
          config: {
            abortSignal,
            responseModalities: [Modality.IMAGE],
            ...(aspectRatio && { imageConfig: { aspectRatio } }),
          },
        }),
      ),
    ),
  );
  const images = responses.map(imageOf);
  return { images: images.map((image) => image.data), contentType: images[0].contentType };
}

/** An edit of `image` as `prompt` asks, by a Gemini image model (the image goes inline with the prompt). */
export async function geminiImageEdit(
  client: GoogleGenAI,
  model: string,
  { prompt, image, contentType, timeoutMs, signal }: GeminiImageEditRequest,
): Promise<GeminiImages> {
  assertImageModel(model);
  const response = await bounded(timeoutMs, signal, (abortSignal) =>
    client.models.generateContent({
      model,
      contents: [
        {
          role: 'user',
          parts: [{ text: prompt }, { inlineData: { mimeType: contentType, data: image.toString('base64') } }],
        },
      ],
      config: { abortSignal, responseModalities: [Modality.IMAGE] },
    }),
  );
  const edited = imageOf(response);
  return { images: [edited.data], contentType: edited.contentType };
}

/** Starts a Veo video (one, `seconds` long) as a long-running operation; its name is what pollGeminiVideo takes. */
export async function startGeminiVideo(
  client: GoogleGenAI,
  model: string,
  { prompt, seconds, size, timeoutMs }: GeminiVideoRequest,
): Promise<string> {
  const aspectRatio = size === undefined ? undefined : nearestRatio(size, VIDEO_ASPECT_RATIOS);
  const operation = await bounded(timeoutMs, undefined, (abortSignal) =>
    client.models.generateVideos({
      model,
      // `source` rather than a top-level prompt, which the SDK deprecates (with a console warning).
      source: { prompt },
      config: {
        abortSignal,
        numberOfVideos: 1,
        ...(seconds !== undefined && { durationSeconds: seconds }),
        ...(aspectRatio && { aspectRatio }),
      },
    }),
  );
  if (!operation.name) throw new Error('The upstream started no operation.');
  return operation.name;
}

/**
 * One look at a video operation: not done yet, done with the video (downloaded), or done with an error (the
 * generation failed, or its output was filtered). A failure to look (or to download) is thrown, to classify.
 */
export async function pollGeminiVideo(
  client: GoogleGenAI,
  operationName: string,
  timeoutMs: number,
): Promise<GeminiVideoPoll> {
  return bounded(timeoutMs, undefined, async (abortSignal): Promise<GeminiVideoPoll> => {
    const operation = Object.assign(new GenerateVideosOperation(), { name: operationName });
    const polled = await client.operations.getVideosOperation({ operation, config: { abortSignal } });
    if (!polled.done) return { done: false };
    if (polled.error) return { done: true, error: operationError(polled.error) };
    const video = polled.response?.generatedVideos?.[0]?.video;
    if (video?.videoBytes) {
      return {
        done: true,
        video: Buffer.from(video.videoBytes, 'base64'),
        contentType: video.mimeType ?? DEFAULT_VIDEO_TYPE,
      };
    }
    if (!video?.uri) return { done: true, error: `The upstream returned no video: ${filtered(polled.response)}` };
    const downloaded = await download(client, video, abortSignal);
    return {
      done: true,
      video: downloaded.bytes,
      contentType: video.mimeType ?? downloaded.contentType ?? DEFAULT_VIDEO_TYPE,
    };
  });
}

/**
 * What a failed call of this module means for the key and the call, or null when the error is not one of the
 * SDK's (or this module's). The SDK's ApiError carries no headers, so a retry delay comes from the body's
 * google.rpc.RetryInfo, where Google puts it.
 */
export function classifyGemini(err: unknown): Failure | null {
  if (err instanceof ApiError) {
    const { message, reason, retryAfterMs } = googleError(err);
    // The Gemini API answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID, rather than 401.
    if (err.status === 401 || err.status === 403 || reason?.startsWith('API_KEY_')) {
      return { kind: 'refused-key', message, status: err.status };
    }
    if (err.status === 408 || err.status === 409 || err.status === 429 || err.status >= 500) {
      return { kind: 'retry', message, status: err.status, retryAfterMs, timeout: false };
    }
    return { kind: 'rejected', message, status: err.status };
  }
  // 400: what the Gemini API (and OpenAI's) answer to a prompt they refuse outright.
  if (err instanceof GeminiRejection) return { kind: 'rejected', message: safeMessage(err.message), status: 400 };
  const name = typeof err === 'object' && err !== null && 'name' in err ? err.name : undefined;
  if (name === 'TimeoutError') return { kind: 'retry', message: 'The upstream timed out', timeout: true };
  if (name === 'AbortError') return { kind: 'aborted' };
  return null;
}

/**
 * Runs `call` with a signal that ends at the deadline or with `signal`, and ends calls still running beside one
 * that failed. The SDK aborts its fetch without a reason, so its error cannot tell a timeout from a
 * cancellation: these signals can, and the error thrown says which (TimeoutError or AbortError).
 */
async function bounded<T>(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  call: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const settled = new AbortController();
  const abortSignal = AbortSignal.any([deadline, settled.signal, ...(signal ? [signal] : [])]);
  try {
    return await call(abortSignal);
  } catch (err) {
    if (signal?.aborted) throw new DOMException('The call was cancelled.', 'AbortError');
    if (deadline.aborted) throw new DOMException('The upstream did not answer in time.', 'TimeoutError');
    throw err;
  } finally {
    settled.abort();
  }
}

/**
 * Imagen cannot be called here: in @google/genai the Gemini Developer API client's generateImages and editImage
 * throw (they are Vertex AI only), and Google is retiring Imagen in favour of the Gemini image models.
 */
function assertImageModel(model: string): void {
  if (model.replace(/^models\//, '').startsWith('imagen-')) {
    throw new GeminiRejection(
      `${model}: Imagen models cannot be called through the Gemini Developer API with @google/genai; ` +
        'route a Gemini image model (gemini-*-image*) instead.',
    );
  }
}

function parseSize(size: string): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/.exec(size);
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  if (!(width > 0 && height > 0)) throw new GeminiRejection(`The size ${size} is not WIDTHxHEIGHT.`);
  return { width, height };
}

/** The ratio nearest to `size`'s (by the ratio of the two, so 2:1 and 1:2 are as far from 1:1); ties: the first. */
function nearestRatio(size: string, ratios: string[]): string {
  const { width, height } = parseSize(size);
  const distance = (ratio: string): number => {
    const [w, h] = ratio.split(':').map(Number);
    return Math.abs(Math.log(width / height / (w / h)));
  };
  return ratios.reduce((best, ratio) => (distance(ratio) < distance(best) ? ratio : best));
}

/** The first image of a response, or a rejection saying why there is none. */
function imageOf(response: GenerateContentResponse): { data: Buffer; contentType: string } {
  for (const candidate of response.candidates ?? []) {
    for (const part of candidate.content?.parts ?? []) {
      const { data, mimeType } = part.inlineData ?? {};
      if (data && mimeType?.startsWith('image/')) return { data: Buffer.from(data, 'base64'), contentType: mimeType };
    }
  }
  throw new GeminiRejection(`The upstream returned no image: ${noImageReason(response)}`);
}

function noImageReason(response: GenerateContentResponse): string {
  const feedback = response.promptFeedback;
  if (feedback?.blockReason) {
    return `the prompt was blocked (${[feedback.blockReason, feedback.blockReasonMessage].filter(Boolean).join(': ')})`;
  }
  const candidate = response.candidates?.[0];
  if (!candidate) return 'no candidate, and no reason given';
  if (candidate.finishReason && candidate.finishReason !== 'STOP') {
    return `it stopped (${[candidate.finishReason, candidate.finishMessage].filter(Boolean).join(': ')})`;
  }
  const text = (candidate.content?.parts ?? [])
    .map((part) => part.text ?? '')
    .join(' ')
    .trim();
  return text ? `it answered in text: ${text.slice(0, 200)}` : 'no reason given';
}

function operationError(error: Record<string, unknown>): string {
  const message = typeof error.message === 'string' ? error.message : JSON.stringify(error);
  return safeMessage(error.code === undefined ? message : `${message} (code ${String(error.code)})`);
}

function filtered(response: GenerateVideosResponse | undefined): string {
  const reasons = response?.raiMediaFilteredReasons ?? [];
  if (reasons.length) return safeMessage(`filtered (${reasons.join('; ')})`);
  return response?.raiMediaFilteredCount ? 'filtered (no reason given)' : 'no reason given';
}

/**
 * A video the upstream serves by URI, through the SDK (its key, its base URL; the URI gives the file id). In Node
 * files.download only writes to a path, so it goes through a temporary file. And it pipes the response body into
 * that file with no error handler, so a body that fails mid-way (a dropped connection, an abort) would crash
 * the process: its fetch therefore reads each body whole first, where a failure is a rejected call.
 */
async function download(
  client: GoogleGenAI,
  video: Video,
  abortSignal: AbortSignal,
): Promise<{ bytes: Buffer; contentType: string | undefined }> {
  let contentType: string | undefined;
  const wholeBody: Fetch = async (input, init) => {
    const response = await fetch(input, init);
    const type = response.headers.get('content-type');
    if (type && /^(video|image)\//.test(type)) contentType = type;
    return new Response(response.body && (await response.arrayBuffer()), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
  const dir = await mkdtemp(join(tmpdir(), 'atrium-gemini-'));
  try {
    const downloadPath = join(dir, 'video');
    await client.files.download({
      file: video,
      downloadPath,
      config: { abortSignal, httpOptions: { fetch: wholeBody } },
    });
    return { bytes: await readFile(downloadPath), contentType };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface GoogleErrorBody {
  error?: {
    message?: string;
    status?: string;
    details?: { '@type'?: string; reason?: string; retryDelay?: string }[];
  };
}

/**
 * The parts of a Google error body that matter here. The SDK's ApiError message is the body as JSON (for a
 * non-JSON body, a Google-shaped object it builds around the text).
 */
function googleError(err: ApiError): { message: string; reason?: string; retryAfterMs?: number } {
  let body: GoogleErrorBody | undefined;
  try {
    const parsed: unknown = JSON.parse(err.message);
    body = (Array.isArray(parsed) ? parsed[0] : parsed) as GoogleErrorBody;
  } catch {
    return { message: safeMessage(err.message) };
  }
  const error = body?.error ?? {};
  const details = error.details ?? [];
  const text = error.message ?? err.message;
  const reason = details.find((detail) => detail['@type']?.endsWith('google.rpc.ErrorInfo'))?.reason;
  const delay = details.find((detail) => detail['@type']?.endsWith('google.rpc.RetryInfo'))?.retryDelay;
  // A protobuf Duration in JSON: seconds with an 's', e.g. "7s" or "0.5s".
  const seconds = delay && /^\d+(\.\d+)?s$/.test(delay) ? Number(delay.slice(0, -1)) : undefined;
  return {
    message: safeMessage(error.status ? `${error.status}: ${text}` : text),
    reason,
    retryAfterMs: seconds === undefined ? undefined : Math.round(seconds * 1000),
  };
}
