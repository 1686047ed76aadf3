import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type OpenAI from 'openai';
import { actsForTenant, mayActFor } from '../../core/context/principal.js';
import { RequestContext } from '../../core/context/request-context.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { AppError } from '../../core/errors/app-error.js';
import { AuthError, AuthErrorCode } from '../../core/identity/auth.errors.js';
import { Clock } from '../../core/ports/clock.js';
import { JobQueue } from '../../core/ports/job-queue.js';
import { MeteringService, type RequestOrigin } from '../billing/metering.service.js';
import { BillingErrorCode } from '../billing/billing.errors.js';
import type { Media, VideoJob } from './entities/media.entity.js';
import { GatewayError, GatewayErrorCode } from './gateway.errors.js';
import { GatewayDirectory } from './gateway-directory.js';
import { GatewayService } from './gateway.service.js';
import { pollGeminiVideo, startGeminiVideo } from './gemini/gemini-media.js';
import { imageSizeOf } from './images.js';
import { localVideo } from './local/local-models.js';
import { VideoJobsRepository } from './media.repository.js';
import { MediaService } from './media.service.js';
import { classify, failureError } from './upstream.js';

const JOB = 'gateway.video';
const DEFAULT_SECONDS = 4;
const DEFAULT_SIZE = '640x360';
/** A video job polls its upstream for at most this long before it fails. */
const MAX_VIDEO_MS = 60 * 60_000;
/** The reservation outlives the longest job, so the hold is never swept from under it. */
const HOLD_SECONDS = MAX_VIDEO_MS / 1000 + 600;
const FIRST_POLL_MS = 500;
const MAX_POLL_MS = 30_000;

export interface VideoRequest {
  prompt: string;
  model?: string;
  seconds?: number;
  size?: string;
}

interface VideoStep {
  id: string;
  /** The poll this run is, from 0: the idempotency key of the next run. */
  poll: number;
}

type Progress = { done: false; progress?: number } | { done: true; bytes: Buffer; contentType: string };

const videoNotFound = () => new GatewayError(GatewayErrorCode.VIDEO_NOT_FOUND, 'Video not found.');

/**
 * Videos as jobs, in the shape of OpenAI's video API. A request holds the
 * `videos` quota and the estimated cost and queues the job; the job starts
 * the upstream's long-running operation and polls it with backoff, one queued
 * run per poll (so a restart resumes where it was), then stores the video as
 * media and commits the hold. Only a completed video counts; a failed one
 * releases its hold.
 */
@Injectable()
export class VideoService implements OnModuleInit {
  private readonly logger = new Logger('Video');

  constructor(
    private readonly jobs: VideoJobsRepository,
    private readonly queue: JobQueue,
    private readonly gateway: GatewayService,
    private readonly directory: GatewayDirectory,
    private readonly metering: MeteringService,
    private readonly media: MediaService,
    private readonly context: RequestContext,
    private readonly clock: Clock,
    private readonly uow: UnitOfWork,
  ) {}

  onModuleInit(): void {
    this.queue.register<VideoStep>(JOB, (step, run) => this.step(step, run.attempt >= run.maxAttempts), {
      attempts: 5,
      backoffMs: 2000,
    });
  }

  async create(request: VideoRequest, origin: RequestOrigin): Promise<VideoJob> {
    const resolved = await this.gateway.resolve('video', request.model);
    const seconds = request.seconds ?? DEFAULT_SECONDS;
    const reservation = await this.metering.reserve({
      meter: 'videos',
      quantity: 1,
      estimatedCostMicros: seconds * resolved.route.perVideoSecondMicros,
      ttlSeconds: HOLD_SECONDS,
      idempotencyKey: `video:${crypto.randomUUID()}`,
    });
    const principal = this.context.principal;
    let job: VideoJob;
    try {
      job = await this.jobs.create({
        id: crypto.randomUUID(),
        userId: principal.userId ?? null,
        apiKeyId: principal.apiKeyId ?? null,
        model: resolved.route.alias,
        prompt: request.prompt,
        seconds,
        size: request.size ?? DEFAULT_SIZE,
        status: 'queued',
        progress: 0,
        reservationId: reservation.id,
        providerId: null,
        providerModel: null,
        upstreamId: null,
        mediaId: null,
        errorCode: null,
        errorMessage: null,
        clientIp: origin.clientIp,
        requestId: origin.requestId,
      });
      await this.queue.enqueue(JOB, { id: job.id, poll: 0 } satisfies VideoStep, { jobKey: `${job.id}:0` });
    } catch (err) {
      await this.metering.release(reservation.id);
      throw err;
    }
    return job;
  }

  async get(id: string): Promise<VideoJob> {
    const job = await this.jobs.findById(id);
    if (!job || !mayActFor(this.context.principal, job.userId)) throw videoNotFound();
    return job;
  }

  list(limit: number, offset: number): Promise<[VideoJob[], number]> {
    const principal = this.context.principal;
    if (actsForTenant(principal)) return this.jobs.list(undefined, limit, offset);
    if (principal.userId === undefined) throw new AuthError(AuthErrorCode.PERMISSION_DENIED, 'No videos to list.');
    return this.jobs.list(principal.userId, limit, offset);
  }

  /** The finished video's bytes (409 VIDEO_NOT_READY before). */
  async content(id: string) {
    const job = await this.get(id);
    if (job.status !== 'completed' || !job.mediaId) {
      throw new GatewayError(GatewayErrorCode.VIDEO_NOT_READY, `The video is ${job.status}, not completed.`, {
        status: job.status,
      });
    }
    return this.media.content(job.mediaId);
  }

  /** One run of a job: start it, or poll it once and queue the next poll, or finish it. */
  private async step({ id, poll }: VideoStep, lastAttempt: boolean): Promise<void> {
    const job = await this.jobs.findById(id);
    if (!job || job.status === 'completed' || job.status === 'failed') return;
    try {
      if (this.clock.now().getTime() - job.createdAt.getTime() > MAX_VIDEO_MS) {
        throw new GatewayError(GatewayErrorCode.PROVIDER_TIMEOUT, 'The provider did not finish the video in time.');
      }
      const progress = await this.advance(job);
      if (!progress.done) {
        await this.jobs.advance(id, ['queued', 'in_progress'], { status: 'in_progress', progress: progress.progress });
        const delayMs = Math.min(MAX_POLL_MS, FIRST_POLL_MS * 2 ** Math.min(poll, 5));
        await this.queue.enqueue(JOB, { id, poll: poll + 1 } satisfies VideoStep, {
          jobKey: `${id}:${poll + 1}`,
          delayMs,
        });
        return;
      }
      await this.complete(job, progress.bytes, progress.contentType);
    } catch (err) {
      const failure = err instanceof AppError ? err : failureError(classify(err));
      // Retryable trouble (an upstream hiccup while polling) is retried by the queue; anything else ends the job.
      if (failure.code === GatewayErrorCode.PROVIDER_ERROR && !lastAttempt) throw err;
      await this.fail(job, failure);
    }
  }

  /** Starts the upstream operation (or makes the local video at once), or polls the one started. */
  private async advance(job: VideoJob): Promise<Progress> {
    const resolved = await this.gateway.resolve('video', job.model);
    const target = resolved.targets.find(({ provider }) => provider.id === job.providerId) ?? resolved.targets.at(0)!;
    const { provider } = target;
    const [width, height] = job.size.split('x').map(Number);
    if (provider.kind === 'local') {
      await this.jobs.advance(job.id, ['queued'], { providerId: provider.id, providerModel: target.target.model });
      let bytes: Buffer;
      try {
        bytes = localVideo(job.prompt, job.seconds, width, height);
      } catch (err) {
        throw new GatewayError(
          GatewayErrorCode.PROVIDER_REJECTED,
          `The provider refused the request: ${(err as Error).message}`,
        );
      }
      return { done: true, bytes, contentType: 'image/gif' };
    }
    const key = this.directory.rotation(resolved.directory, provider.id).at(0);
    if (!key) {
      // No healthy key right now: a failed run, retried by the queue with backoff.
      throw new GatewayError(GatewayErrorCode.PROVIDER_ERROR, 'No provider key is available for this model right now.');
    }
    if (provider.kind === 'gemini') {
      const client = this.directory.geminiOf(provider, key);
      if (job.upstreamId === null) {
        const operation = await startGeminiVideo(client, target.target.model, {
          prompt: job.prompt,
          seconds: job.seconds,
          size: job.size,
          timeoutMs: MAX_POLL_MS,
        });
        await this.started(job, provider.id, target.target.model, operation);
        return { done: false, progress: 0 };
      }
      const polled = await pollGeminiVideo(client, job.upstreamId, MAX_POLL_MS);
      if (!polled.done) return { done: false };
      if ('error' in polled) throw new GatewayError(GatewayErrorCode.PROVIDER_REJECTED, polled.error);
      return { done: true, bytes: polled.video, contentType: polled.contentType };
    }
    const client = this.directory.clientOf(provider, key);
    if (job.upstreamId === null) {
      const video = await client.videos.create(
        {
          model: target.target.model as OpenAI.VideoModel,
          prompt: job.prompt,
          seconds: String(job.seconds) as OpenAI.VideoSeconds,
          size: job.size as OpenAI.VideoSize,
        },
        { timeout: MAX_POLL_MS },
      );
      await this.started(job, provider.id, target.target.model, video.id);
      return { done: false, progress: video.progress };
    }
    const video = await client.videos.retrieve(job.upstreamId, { timeout: MAX_POLL_MS });
    if (video.status === 'failed') {
      throw new GatewayError(GatewayErrorCode.PROVIDER_REJECTED, video.error?.message ?? 'The provider failed.');
    }
    if (video.status !== 'completed') return { done: false, progress: video.progress };
    const response = await client.videos.downloadContent(job.upstreamId, null, { timeout: MAX_POLL_MS });
    return {
      done: true,
      bytes: Buffer.from(await response.arrayBuffer()),
      contentType: response.headers.get('content-type') ?? 'video/mp4',
    };
  }

  private async started(job: VideoJob, providerId: string, model: string, upstreamId: string): Promise<void> {
    await this.jobs.advance(job.id, ['queued'], {
      status: 'in_progress',
      providerId,
      providerModel: model,
      upstreamId,
    });
    job.upstreamId = upstreamId;
  }

  /**
   * Stores the video as media, commits the hold (the quota counts now) and marks the job completed, in one
   * transaction: a run that fails part-way leaves none of it (the stored bytes are removed again), so a retry
   * cannot store the video twice, and a job whose hold is gone fails without a video nobody paid for. A run
   * that finds the job already completed by another does nothing.
   */
  private async complete(job: VideoJob, bytes: Buffer, contentType: string): Promise<void> {
    const origin = { clientIp: job.clientIp, requestId: job.requestId };
    const route = (await this.gateway.resolve('video', job.model)).route;
    const cost = job.seconds * route.perVideoSecondMicros;
    let stored: Media | undefined;
    try {
      await this.uow.run(async () => {
        stored = await this.media.store({
          type: 'video',
          model: job.model,
          prompt: job.prompt,
          bytes,
          contentType,
          seconds: job.seconds,
          ...imageSizeOf(bytes, contentType),
          userId: job.userId,
          apiKeyId: job.apiKeyId,
          origin,
        });
        await this.metering.commit(
          job.reservationId,
          {
            quantity: 1,
            costMicros: cost,
            model: job.model,
            metadata: { seconds: job.seconds, providerModel: job.providerModel, videoId: job.id },
          },
          origin,
        );
        const moved = await this.jobs.advance(job.id, ['queued', 'in_progress'], {
          status: 'completed',
          progress: 100,
          mediaId: stored.id,
          completedAt: this.clock.now(),
        });
        if (!moved) throw new AlreadyFinished();
      });
    } catch (err) {
      if (stored) await this.media.discard(stored);
      if (err instanceof AlreadyFinished) return;
      if (err instanceof AppError && err.code === BillingErrorCode.RESERVATION_SETTLED) {
        // Another run completed the job (and committed its hold), or the hold was released: then the job fails.
        if ((await this.jobs.findById(job.id))?.status === 'completed') return;
      }
      throw err;
    }
    await this.gateway.recordVideo(job, cost, null);
  }

  /** Marks the job failed and releases its hold in one transaction, so no reader sees one without the other. */
  private async fail(job: VideoJob, error: AppError): Promise<void> {
    this.logger.warn(`Video ${job.id} failed: ${error.message}`);
    const moved = await this.uow.run(async () => {
      const advanced = await this.jobs.advance(job.id, ['queued', 'in_progress'], {
        status: 'failed',
        errorCode: error.code,
        errorMessage: error.message,
        completedAt: this.clock.now(),
      });
      if (advanced) await this.metering.releaseIfHeld(job.reservationId);
      return advanced;
    });
    if (!moved) return;
    await this.gateway.recordVideo(job, 0, error.code);
  }
}

/** Rolls back a completion that another run of the same job got to first. */
class AlreadyFinished extends Error {}
