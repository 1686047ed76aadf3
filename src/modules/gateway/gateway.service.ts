import { randomUUID } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type Anthropic from '@anthropic-ai/sdk';
import type { GoogleGenAI } from '@google/genai';
import OpenAI, { toFile } from 'openai';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { RequestContext } from '../../core/context/request-context.js';
import { AppError } from '../../core/errors/app-error.js';
import { Clock } from '../../core/ports/clock.js';
import { MeteringService, type RequestOrigin, type ReserveInput } from '../billing/metering.service.js';
import type { CounterHold } from '../billing/entities/usage.entity.js';
import { PlanCache } from '../billing/plan-cache.js';
import type { ChatCompletionBody, EmbeddingsBody } from './dto/chat.dto.js';
import type { ImageEditFields, ImageGenerationBody, ImagesResponseDto } from './dto/images.dto.js';
import type { ModelListDto } from './dto/admin.dto.js';
import type { ModelRoute, Provider, RouteTarget, Task } from './entities/gateway.entity.js';
import type { VideoJob } from './entities/media.entity.js';
import { GatewayError, GatewayErrorCode } from './gateway.errors.js';
import { type GenerationValues, GenerationsRepository, recording } from './gateway.repository.js';
import { type Directory, GatewayDirectory, type PoolKey } from './gateway-directory.js';
import { KeyHealth } from './key-health.js';
import { imageSizeOf, imageTypeOf, imagesOf, type MadeImages, sizeOf } from './images.js';
import {
  countTokens,
  localChat,
  localChatChunks,
  localEmbeddings,
  localImage,
  localImageEdit,
  promptTokens,
} from './local/local-models.js';
import { MediaService } from './media.service.js';
import { forwardJson, forwardStream } from './openai-forward.js';
import { AnthropicUnsupported, anthropicChat, anthropicChatStream } from './anthropic/anthropic-chat.js';
import type { Failure } from './failure.js';
import { geminiImageEdit, geminiImages } from './gemini/gemini-media.js';
import { classify, failureError } from './upstream.js';

/** At most this many retries of a call (other keys, then other targets), within its deadline. */
const MAX_RETRIES = 2;
/** Output tokens a call is assumed to produce, for its hold, when it sets no limit. */
const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

export interface Resolved {
  directory: Directory;
  route: ModelRoute;
  targets: { target: RouteTarget; provider: Provider }[];
}

interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** What a call holds while it runs: a quantity of a meter, and the most it may cost. */
interface Hold {
  meter: string;
  quantity: number;
  costMicros: number;
  /** The user it is held for (the caller when absent). */
  userId?: string;
  ttlSeconds?: number;
  /** Room also held on other meters (a chat call's tokens), used with the commit. */
  alsoHolds?: { meter: string; quantity: number }[];
}

/** A call: its route, whether it streams, when it started, where it came from. */
interface Call {
  route: ModelRoute;
  stream: boolean;
  started: number;
  origin: RequestOrigin;
}

/** A call in progress and its hold. */
interface Metered extends Call {
  reservation: { id: string; userId: string | null; holds: CounterHold[] };
}

type ImagesAnswer = ImagesResponseDto;

type OpenAiCall<T> = (client: OpenAI, model: string, options: OpenAI.RequestOptions) => Promise<T>;

/** How a call is made upstream: through the OpenAI-compatible API, or per provider kind where it has its own. */
type Upstream<T> =
  | OpenAiCall<T>
  | {
      openai: OpenAiCall<T>;
      anthropic?: (client: Anthropic, model: string, timeoutMs: number) => Promise<T>;
      gemini?: (client: GoogleGenAI, model: string, timeoutMs: number) => Promise<T>;
    };

/** A call that went through: what answered it. */
interface Answered<T> {
  value: T;
  provider: Provider;
  target: RouteTarget;
}

/** The built-in provider's answer; a request it cannot answer is rejected (400). */
function answerLocally<T>(local: (model: string) => T, target: RouteTarget, provider: Provider): Answered<T> {
  try {
    return { value: local(target.model), provider, target };
  } catch (err) {
    throw failureError({ kind: 'rejected', message: (err as Error).message, status: 400 });
  }
}

const micros = (tokens: number, perMillion: number) => Math.ceil((tokens * perMillion) / 1_000_000);

/**
 * The generation gateway's calls. Each, in order: route the model alias for
 * the caller's plan tier, hold quota and credits (a reservation estimated
 * from the prompt and the output limit), call the first target's next healthy
 * key — another key, then the next target, on a retryable failure (at most
 * MAX_RETRIES, within GATEWAY_TIMEOUT_MS, never once a stream has started) —
 * then commit the actual usage and cost, or release the hold on failure; and
 * record the generation.
 */
@Injectable()
export class GatewayService {
  private readonly logger = new Logger('Gateway');

  constructor(
    private readonly directory: GatewayDirectory,
    private readonly health: KeyHealth,
    private readonly metering: MeteringService,
    private readonly plans: PlanCache,
    private readonly generations: GenerationsRepository,
    private readonly media: MediaService,
    private readonly context: RequestContext,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The aliases the caller's plan tier may use (OpenAI's model list). */
  async models(): Promise<ModelListDto> {
    const directory = await this.directory.current();
    const tier = await this.tier();
    const data = [...directory.routes.values()]
      .filter((route) => allowed(route, tier))
      .map((route) => ({
        id: route.alias,
        object: 'model' as const,
        created: Math.floor(route.createdAt.getTime() / 1000),
        owned_by: 'atrium',
        task: route.task,
      }));
    return { object: 'list', data };
  }

  async chat(body: ChatCompletionBody, origin: RequestOrigin): Promise<OpenAI.ChatCompletion> {
    const resolved = await this.resolve('chat', body.model);
    const prompt = promptTokens(body.messages);
    const metered = await this.begin(resolved.route, this.tokenHold(resolved.route, prompt, body), false, origin);
    // Stream options mean nothing without a stream, and upstreams refuse them.
    const { stream_options: _options, ...request } = withinHeldOutput(body, metered);
    const answered = await this.callMetered(
      resolved,
      metered,
      (model) => localChat({ ...request, model, stream: false }, this.clock.now()),
      {
        openai: (client, model, options) =>
          forwardJson<OpenAI.ChatCompletion>(
            client,
            '/chat/completions',
            { ...request, model, stream: false },
            options,
          ),
        anthropic: (client, model, timeout) =>
          anthropicChat(client, request as OpenAI.ChatCompletionCreateParams, model, { timeout }, this.unixNow()),
      },
    );
    const completion = answered.value;
    const usage: Usage = completion.usage
      ? { inputTokens: completion.usage.prompt_tokens, outputTokens: completion.usage.completion_tokens }
      : {
          inputTokens: prompt,
          outputTokens: countTokens(completion.choices.map((c) => c.message.content ?? '').join('')),
        };
    await this.succeed(metered, answered, usage);
    return { ...completion, model: resolved.route.alias };
  }

  /**
   * A streamed chat completion: server-sent chunks, then `data: [DONE]`. The
   * call is retried only until the upstream has answered; a client that goes
   * away (`abort`) stops the upstream call and is charged what was produced.
   */
  async chatStream(requested: ChatCompletionBody, origin: RequestOrigin, abort: AbortSignal): Promise<Readable> {
    const resolved = await this.resolve('chat', requested.model);
    const prompt = promptTokens(requested.messages);
    const metered = await this.begin(resolved.route, this.tokenHold(resolved.route, prompt, requested), true, origin);
    const body = withinHeldOutput(requested, metered);
    const answered = await this.callMetered(
      resolved,
      metered,
      (model) =>
        paced(
          localChatChunks({ ...body, model, stream: true, stream_options: { include_usage: true } }, this.clock.now()),
        ),
      {
        openai: (client, model, options) =>
          forwardStream(
            client,
            { ...body, model, stream: true, stream_options: { include_usage: true } },
            { ...options, signal: abort },
          ),
        anthropic: (client, model, timeout) =>
          anthropicChatStream(
            client,
            body as OpenAI.ChatCompletionCreateParams,
            model,
            { timeout, signal: abort },
            this.unixNow(),
          ),
      },
    );
    const out = new PassThrough();
    const wantsUsage = body.stream_options?.include_usage === true;
    void (async () => {
      let usage: OpenAI.CompletionUsage | undefined;
      let produced = '';
      let broken: unknown;
      try {
        for await (const chunk of answered.value) {
          if (abort.aborted) break;
          if (chunk.usage) usage = chunk.usage;
          for (const choice of chunk.choices) {
            produced += choice.delta?.content ?? '';
            for (const call of choice.delta?.tool_calls ?? []) produced += call.function?.arguments ?? '';
          }
          if (chunk.choices.length === 0 && !wantsUsage) continue;
          const { usage: _usage, ...rest } = chunk;
          out.write(`data: ${JSON.stringify({ ...(wantsUsage ? chunk : rest), model: resolved.route.alias })}\n\n`);
        }
      } catch (err) {
        broken = err;
      }
      // Charged for what was produced: the upstream's count when it sent one, else the tokenizer's. Settled
      // before the stream ends, so a client that has read [DONE] finds its usage recorded.
      const counted: Usage = usage
        ? { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens }
        : { inputTokens: prompt, outputTokens: countTokens(produced) };
      try {
        await this.succeed(metered, answered, counted);
      } catch (err) {
        this.logger.error({ message: `Settling a stream failed: ${(err as Error).message}` });
      }
      if (broken && !abort.aborted) {
        this.logger.warn(`A stream broke off: ${(broken as Error).message}`);
        const error = broken instanceof AppError ? broken : failureError(classify(broken));
        out.write(
          `data: ${JSON.stringify({ error: { message: error.message, type: 'server_error', code: error.code } })}\n\n`,
        );
      } else if (!abort.aborted) {
        out.write('data: [DONE]\n\n');
      }
      out.end();
    })();
    return out;
  }

  /** Embeddings of one text or a list (OpenAI's shape, float or base64 as asked). */
  async embeddings(body: EmbeddingsBody, origin: RequestOrigin): Promise<OpenAI.CreateEmbeddingResponse> {
    const resolved = await this.resolve('embedding', body.model);
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const tokens = inputs.reduce((sum, text) => sum + countTokens(text), 0);
    const hold: Hold = {
      meter: 'requests',
      quantity: 1,
      costMicros: costOf(resolved.route, { inputTokens: tokens, outputTokens: 0 }),
    };
    const { answered } = await this.embedMetered(
      resolved,
      hold,
      origin,
      (model) => localEmbeddings({ ...body, model }),
      (client, model, options) =>
        forwardJson<OpenAI.CreateEmbeddingResponse>(client, '/embeddings', { ...body, model }, options),
      (answer) => ({ usage: { inputTokens: answer.usage?.prompt_tokens ?? tokens, outputTokens: 0 }, quantity: 1 }),
    );
    return { ...answered.value, model: resolved.route.alias };
  }

  /**
   * Embeddings for the platform's own features (knowledge bases): the texts'
   * tokens are held and committed on the `embedding_tokens` meter of the tenant
   * the context acts in, at the route's input price.
   */
  async embedTexts(
    model: string,
    texts: string[],
    origin: RequestOrigin,
  ): Promise<{ vectors: number[][]; tokens: number }> {
    const resolved = await this.resolve('embedding', model);
    const counted = Math.max(
      1,
      texts.reduce((sum, text) => sum + countTokens(text), 0),
    );
    const hold: Hold = {
      meter: 'embedding_tokens',
      quantity: counted,
      costMicros: costOf(resolved.route, { inputTokens: counted, outputTokens: 0 }),
    };
    const { answered, usage } = await this.embedMetered(
      resolved,
      hold,
      origin,
      (upstreamModel) => localEmbeddings({ model: upstreamModel, input: texts }),
      (client, upstreamModel, options) =>
        forwardJson<OpenAI.CreateEmbeddingResponse>(
          client,
          '/embeddings',
          { model: upstreamModel, input: texts, encoding_format: 'float' },
          options,
        ),
      (answer) => {
        const used = answer.usage?.prompt_tokens ?? counted;
        return { usage: { inputTokens: used, outputTokens: 0 }, quantity: Math.min(used, counted) };
      },
    );
    const vectors = [...answered.value.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
    return { vectors, tokens: usage.inputTokens };
  }

  /**
   * An embedding call, metered: `charged` gives the usage of its answer and the quantity committed on
   * the hold's meter, at the route's prices. A call the built-in provider answers (the route's first
   * target is local) has nothing in flight to hold room for: it is made first, then charged with
   * MeteringService.charge — reserved and committed in one statement, refused as a reservation would
   * be (the answer is then dropped); its failure is recorded as the generation, as a metered one is.
   * Any other is reserved, called and committed.
   */
  private async embedMetered<T>(
    resolved: Resolved,
    hold: Hold,
    origin: RequestOrigin,
    local: (model: string) => T,
    upstream: Upstream<T>,
    charged: (answer: T) => { usage: Usage; quantity: number },
  ): Promise<{ answered: Answered<T>; usage: Usage }> {
    if (resolved.targets[0]?.provider.kind !== 'local') {
      const metered = await this.begin(resolved.route, hold, false, origin);
      const answered = await this.callMetered(resolved, metered, local, upstream);
      const { usage, quantity } = charged(answered.value);
      await this.succeed(metered, answered, usage, { quantity, costMicros: costOf(resolved.route, usage) });
      return { answered, usage };
    }
    const call: Call = { route: resolved.route, stream: false, started: performance.now(), origin };
    const { target, provider } = resolved.targets[0];
    let answered: Answered<T>;
    try {
      answered = answerLocally(local, target, provider);
    } catch (err) {
      await this.recordFailure(call, err instanceof AppError ? err.code : 'INTERNAL_ERROR');
      throw err;
    }
    const { usage, quantity } = charged(answered.value);
    const costMicros = costOf(resolved.route, usage);
    await this.metering.charge(
      this.reservationOf(hold),
      {
        quantity,
        costMicros,
        model: resolved.route.alias,
        provider: answered.provider.name,
        metadata: { ...usage, providerModel: answered.target.model },
      },
      origin,
      recording(this.generationOf(call, answered, usage, costMicros, null)),
    );
    return { answered, usage };
  }

  /** Images from a prompt, each stored as media; `url` answers are signed links on `linkOrigin`. */
  async images(body: ImageGenerationBody, origin: RequestOrigin, linkOrigin: string): Promise<ImagesAnswer> {
    const resolved = await this.resolve('image', body.model);
    const n = body.n ?? 1;
    const { width, height } = sizeOf(body.size);
    const metered = await this.begin(
      resolved.route,
      { meter: 'images', quantity: n, costMicros: n * resolved.route.perImageMicros },
      false,
      origin,
    );
    const { response_format: _format, model: _model, ...options } = body;
    const answered = await this.callMetered(
      resolved,
      metered,
      (model) => ({
        images: Array.from({ length: n }, (_, i) =>
          localImage(n > 1 ? `${body.prompt}\n#${i}` : body.prompt, width, height),
        ),
        model,
      }),
      {
        openai: async (client, model, requestOptions) =>
          imagesOf(
            await client.images.generate(
              {
                ...options,
                model,
                n,
                ...(body.size && { size: body.size }),
              } as OpenAI.ImageGenerateParamsNonStreaming,
              requestOptions,
            ),
            model,
            requestOptions.timeout,
          ),
        gemini: async (client, model, timeoutMs) => ({
          images: (await geminiImages(client, model, { prompt: body.prompt, n, size: body.size, timeoutMs })).images,
          model,
        }),
      },
    );
    return this.deliver(metered, answered, body, origin, linkOrigin);
  }

  /** An edit of one image by a prompt (meter `image_edits`), each result stored as media. */
  async imageEdits(
    fields: ImageEditFields,
    image: Buffer,
    origin: RequestOrigin,
    linkOrigin: string,
  ): Promise<ImagesAnswer> {
    const contentType = imageTypeOf(image);
    if (!contentType || contentType === 'image/gif') {
      throw new GatewayError(GatewayErrorCode.IMAGE_INVALID, 'The image must be a PNG, JPEG or WebP file.');
    }
    const resolved = await this.resolve('image', fields.model);
    const n = fields.n ?? 1;
    const metered = await this.begin(
      resolved.route,
      { meter: 'image_edits', quantity: n, costMicros: n * resolved.route.perImageMicros },
      false,
      origin,
    );
    const answered = await this.callMetered(
      resolved,
      metered,
      (model) => ({
        images: Array.from({ length: n }, (_, i) =>
          localImageEdit(image, n > 1 ? `${fields.prompt}\n#${i}` : fields.prompt),
        ),
        model,
      }),
      {
        openai: async (client, model, requestOptions) =>
          imagesOf(
            await client.images.edit(
              {
                model,
                prompt: fields.prompt,
                n,
                image: await toFile(image, `image.${contentType.split('/')[1]}`, { type: contentType }),
                ...(fields.size && { size: fields.size as OpenAI.ImageEditParams['size'] }),
                ...(fields.user && { user: fields.user }),
              },
              requestOptions,
            ),
            model,
            requestOptions.timeout,
          ),
        gemini: async (client, model, timeoutMs) => {
          const edits = await Promise.all(
            Array.from({ length: n }, () =>
              geminiImageEdit(client, model, { prompt: fields.prompt, image, contentType, timeoutMs }),
            ),
          );
          return { images: edits.flatMap((edit) => edit.images), model };
        },
      },
    );
    return this.deliver(metered, answered, fields, origin, linkOrigin);
  }

  private unixNow(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }

  // ---- routing ------------------------------------------------------------------

  private async tier(): Promise<string | null> {
    return (await this.plans.current(this.context.tenantId))?.plan.tier ?? null;
  }

  /** The route for `model` (an alias, or `auto`/none for the tier's default) and its enabled targets. */
  async resolve(task: Task, model: string | undefined): Promise<Resolved> {
    const directory = await this.directory.current();
    const tier = await this.tier();
    let route: ModelRoute | undefined;
    if (model === undefined || model === 'auto') {
      const candidates = (directory.byTask.get(task) ?? []).filter((r) => allowed(r, tier));
      route = candidates.find((r) => tier !== null && r.defaultFor.includes(tier)) ?? candidates[0];
      if (!route) {
        throw new GatewayError(GatewayErrorCode.PROVIDER_NOT_CONFIGURED, `No ${task} model is available to your plan.`);
      }
    } else {
      route = directory.routes.get(model);
      if (!route) throw new GatewayError(GatewayErrorCode.MODEL_NOT_FOUND, `The model ${model} does not exist.`);
      if (route.task !== task) {
        throw new GatewayError(
          GatewayErrorCode.WRONG_TASK,
          `The model ${model} is a ${route.task} model, not a ${task} model.`,
        );
      }
      if (!allowed(route, tier)) {
        throw new GatewayError(GatewayErrorCode.MODEL_NOT_ALLOWED, `Your plan may not use the model ${model}.`, {
          model,
        });
      }
    }
    const targets = route.targets
      .map((target) => ({ target, provider: directory.providers.get(target.providerId)! }))
      .filter(({ provider }) => provider !== undefined);
    if (targets.length === 0) {
      throw new GatewayError(GatewayErrorCode.PROVIDER_NOT_CONFIGURED, `No enabled provider serves ${route.alias}.`);
    }
    return { directory, route, targets };
  }

  /**
   * Calls the targets in order: the local provider directly; an upstream with
   * its pool's next healthy key. A retryable failure cools (or, refused, disables)
   * the key and moves on, at most MAX_RETRIES times within the deadline.
   */
  private async call<T>(
    { directory, targets }: Resolved,
    local: (model: string) => T,
    upstream: Upstream<T>,
  ): Promise<Answered<T>> {
    const deadline = Date.now() + this.config.gateway.timeoutMs;
    let attempts = 0;
    let last: Failure | undefined;
    for (const { target, provider } of targets) {
      if (provider.kind === 'local') return answerLocally(local, target, provider);
      for (const key of this.directory.rotation(directory, provider.id)) {
        const remaining = deadline - Date.now();
        if (attempts > MAX_RETRIES || remaining <= 0) break;
        attempts += 1;
        const attemptStarted = Date.now();
        try {
          const value = await this.invoke(upstream, provider, key, target.model, remaining);
          this.health.succeeded(key);
          return { value, provider, target };
        } catch (err) {
          let failure = classify(err);
          // A call that ran out its time is a timeout, however the HTTP client words the abort.
          if (failure.kind === 'retry' && Date.now() - attemptStarted >= remaining - 20) {
            failure = { ...failure, message: 'The upstream timed out', timeout: true };
          }
          if (failure.kind === 'aborted') throw failureError(failure);
          if (failure.kind === 'rejected') {
            this.health.succeeded(key);
            throw failureError(failure);
          }
          if (failure.kind === 'refused-key') this.health.disable(key, failure.message);
          else this.health.cool(key, failure.message, failure.retryAfterMs);
          last = failure;
        }
      }
      if (attempts > MAX_RETRIES) break;
    }
    if (last) throw failureError(last);
    throw new GatewayError(
      GatewayErrorCode.PROVIDER_NOT_CONFIGURED,
      'No provider key is available for this model right now.',
    );
  }

  /**
   * Stores each image as media, then commits the images stored (a failed store
   * is neither kept nor charged; none stored releases the hold) and answers in
   * OpenAI's shape.
   */
  private async deliver(
    metered: Metered,
    answered: Answered<MadeImages>,
    request: { prompt: string; response_format?: 'url' | 'b64_json' },
    origin: RequestOrigin,
    linkOrigin: string,
  ): Promise<ImagesAnswer> {
    const settled = await Promise.allSettled(
      answered.value.images.map((bytes) => {
        const contentType = imageTypeOf(bytes) ?? 'application/octet-stream';
        const { width, height } = imageSizeOf(bytes, contentType);
        return this.media
          .store({
            type: 'image',
            model: metered.route.alias,
            prompt: request.prompt,
            bytes,
            contentType,
            width,
            height,
            origin,
          })
          .then((media) => ({ media, bytes }));
      }),
    );
    const stored = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (stored.length === 0) {
      await this.metering.release(metered.reservation.id);
      await this.recordFailure(metered, 'STORAGE_FAILED', answered);
      throw failed!.reason;
    }
    if (failed) this.logger.error({ message: `Storing an image failed: ${(failed.reason as Error).message}` });
    await this.succeed(
      metered,
      answered,
      { inputTokens: 0, outputTokens: 0 },
      { quantity: stored.length, costMicros: stored.length * metered.route.perImageMicros },
    );
    const asUrl = (request.response_format ?? 'url') === 'url';
    return {
      created: Math.floor(this.clock.now().getTime() / 1000),
      data: stored.map(({ media, bytes }) => ({
        ...(asUrl ? { url: this.media.signedUrl(media, linkOrigin) } : { b64_json: bytes.toString('base64') }),
        media_id: media.id,
      })),
    };
  }

  /**
   * The hold of a token-priced call: one request, its input (the messages, and
   * the tool definitions and response schema upstreams count as input too)
   * with the output it may produce at the route's prices, and that many input
   * and output tokens on the token quotas.
   */
  private tokenHold(route: ModelRoute, prompt: number, body: ChatCompletionBody): Hold {
    const input = prompt + definitionTokens(body);
    const output = outputLimit(body);
    return {
      meter: 'requests',
      quantity: 1,
      costMicros: costOf(route, { inputTokens: input, outputTokens: output }),
      alsoHolds: [
        { meter: 'input_tokens', quantity: input },
        { meter: 'output_tokens', quantity: output },
      ],
    };
  }

  /**
   * One attempt with one key, through the provider kind's SDK: Anthropic's
   * Messages API, Gemini's native API where the task has one, else the
   * OpenAI-compatible API (OpenAI, vLLM, Ollama, OpenRouter, Gemini's OpenAI endpoint).
   */
  private invoke<T>(upstream: Upstream<T>, provider: Provider, key: PoolKey, model: string, timeout: number) {
    const calls = typeof upstream === 'function' ? { openai: upstream } : upstream;
    if (provider.kind === 'anthropic') {
      if (!calls.anthropic) throw new AnthropicUnsupported('Anthropic providers serve chat only.');
      return calls.anthropic(this.directory.anthropicOf(provider, key), model, timeout);
    }
    if (provider.kind === 'gemini' && calls.gemini) {
      return calls.gemini(this.directory.geminiOf(provider, key), model, timeout);
    }
    return calls.openai(this.directory.clientOf(provider, key), model, { timeout });
  }

  // ---- metering -----------------------------------------------------------------

  /**
   * Holds what the call may use — a request, its estimated cost and its tokens
   * (the prompt and the output it may produce), or the images it asks for — and the call starts.
   */
  private async begin(route: ModelRoute, hold: Hold, stream: boolean, origin: RequestOrigin): Promise<Metered> {
    const started = performance.now();
    const reservation = await this.metering.reserve(this.reservationOf(hold));
    return { route, reservation, stream, started, origin };
  }

  /** The reservation of a call's hold, under an idempotency key of its own. */
  private reservationOf(hold: Hold): ReserveInput {
    return {
      meter: hold.meter,
      quantity: hold.quantity,
      userId: hold.userId,
      estimatedCostMicros: hold.costMicros,
      ttlSeconds: hold.ttlSeconds ?? Math.ceil(this.config.gateway.timeoutMs / 1000) + 60,
      idempotencyKey: `generation:${randomUUID()}`,
      alsoHolds: hold.alsoHolds,
    };
  }

  /** `call`, releasing the hold (and recording the failure) when it fails. */
  private async callMetered<T>(
    resolved: Resolved,
    metered: Metered,
    local: (model: string) => T,
    upstream: Upstream<T>,
  ): Promise<Answered<T>> {
    try {
      return await this.call(resolved, local, upstream);
    } catch (err) {
      await this.metering.release(metered.reservation.id);
      await this.recordFailure(metered, err instanceof AppError ? err.code : 'INTERNAL_ERROR');
      throw err;
    }
  }

  /**
   * Commits the actual usage and cost (by default one request at the route's token prices), and records the
   * generation in the same statement.
   */
  private async succeed<T>(
    metered: Metered,
    answered: Answered<T>,
    usage: Usage,
    charge: { quantity: number; costMicros: number } = { quantity: 1, costMicros: costOf(metered.route, usage) },
  ): Promise<void> {
    await this.metering.commit(
      metered.reservation.id,
      {
        quantity: charge.quantity,
        costMicros: charge.costMicros,
        model: metered.route.alias,
        provider: answered.provider.name,
        metadata: { ...usage, providerModel: answered.target.model },
      },
      metered.origin,
      metered.route.task === 'chat'
        ? {
            forUser: metered.reservation.userId,
            uses: [
              { meter: 'input_tokens', quantity: usage.inputTokens },
              { meter: 'output_tokens', quantity: usage.outputTokens },
            ],
          }
        : undefined,
      recording(this.generationOf(metered, answered, usage, charge.costMicros, null)),
    );
  }

  /** The generation record of a finished video job (made in the background, for the job's owner). */
  async recordVideo(job: VideoJob, cost: number, errorCode: string | null): Promise<void> {
    await this.generations.record({
      userId: job.userId,
      apiKeyId: job.apiKeyId,
      task: 'video',
      model: job.model,
      providerId: job.providerId,
      providerModel: job.providerModel,
      status: errorCode === null ? 'succeeded' : 'failed',
      stream: false,
      inputTokens: 0,
      outputTokens: 0,
      costMicros: cost,
      latencyMs: this.clock.now().getTime() - job.createdAt.getTime(),
      errorCode,
      clientIp: job.clientIp,
      requestId: job.requestId,
    });
  }

  /** Records a failed call's generation (with what answered it, when the failure came after the call). */
  private async recordFailure<T>(metered: Call, errorCode: string, answered: Answered<T> | null = null) {
    await this.generations.record(
      this.generationOf(metered, answered, { inputTokens: 0, outputTokens: 0 }, 0, errorCode),
    );
  }

  /** The generation record: succeeded (with what answered it), or failed with `errorCode`. */
  private generationOf<T>(
    { route, stream, started, origin }: Call,
    answered: Answered<T> | null,
    usage: Usage,
    cost: number,
    errorCode: string | null,
  ): GenerationValues {
    const principal = this.context.principal;
    return {
      userId: principal.userId ?? null,
      apiKeyId: principal.apiKeyId ?? null,
      task: route.task,
      model: route.alias,
      providerId: answered?.provider.id ?? null,
      providerModel: answered?.target.model ?? null,
      status: errorCode === null ? 'succeeded' : 'failed',
      stream,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      costMicros: cost,
      latencyMs: Math.round(performance.now() - started),
      errorCode,
      clientIp: origin.clientIp,
      requestId: origin.requestId,
    };
  }
}

/** What a call costs on the route: input and output tokens at its prices (each rounded up to a micro). */
const costOf = (route: ModelRoute, usage: Usage) =>
  micros(usage.inputTokens, route.inputPerMTokMicros) + micros(usage.outputTokens, route.outputPerMTokMicros);

/** The tokens of a chat call's tool definitions and response schema, as JSON. */
const definitionTokens = (body: ChatCompletionBody) =>
  (body.tools ? countTokens(JSON.stringify(body.tools)) : 0) +
  (body.response_format?.type === 'json_schema' ? countTokens(JSON.stringify(body.response_format.json_schema)) : 0);

/** The output a chat call may produce: its limit (or the default) for each of its choices. */
const outputLimit = (body: ChatCompletionBody) =>
  (body.max_completion_tokens ?? body.max_tokens ?? DEFAULT_MAX_OUTPUT_TOKENS) * (body.n ?? 1);

/**
 * The call as sent upstream: one that sets no output limit while an output-token quota holds room
 * for it is limited to the default it holds, so it cannot produce more than the quota has left.
 */
function withinHeldOutput(body: ChatCompletionBody, metered: Metered): ChatCompletionBody {
  const unlimited = (body.max_completion_tokens ?? body.max_tokens ?? null) === null;
  if (!unlimited || !metered.reservation.holds.some((h) => h.meter === 'output_tokens')) return body;
  return { ...body, max_completion_tokens: DEFAULT_MAX_OUTPUT_TOKENS };
}

/** Whether the tier may use the route (no tiers listed: every tier). */
function allowed(route: ModelRoute, tier: string | null): boolean {
  return route.tiers.length === 0 || (tier !== null && route.tiers.includes(tier));
}

/** The local provider's chunks, one per turn of the event loop (as a stream arrives). */
async function* paced(chunks: OpenAI.ChatCompletionChunk[]): AsyncIterable<OpenAI.ChatCompletionChunk> {
  for (const chunk of chunks) {
    await nextTurn();
    yield chunk;
  }
}
