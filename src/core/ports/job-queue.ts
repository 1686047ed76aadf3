import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type BeforeApplicationShutdown,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Job as BullJob, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { RequestContext } from '../context/request-context.js';
import type { UnitOfWork } from '../database/unit-of-work.js';
import type { ClaimedJobRow, JobsRepository, JobStatus } from './jobs.repository.js';
import { throttledWarning } from '../logging/throttled-warning.js';

export type { JobStatus } from './jobs.repository.js';

/** What a handler learns about the job it runs. */
export interface JobInfo {
  id: string;
  name: string;
  tenantId: string | null;
  /** This run's number, from 1; more than 1 is a retry (or a take-over after a worker died). */
  attempt: number;
  maxAttempts: number;
}

/** Runs one job. A rejection is a failed attempt: retried with backoff while attempts remain. */
export type JobHandler<P = unknown> = (payload: P, job: JobInfo) => Promise<void>;

export interface JobHandlerOptions {
  /** Jobs of this name one instance runs at once (default JOB_CONCURRENCY). */
  concurrency?: number;
  /** Runs before a job counts as failed for good, the first included (default 3). */
  attempts?: number;
  /** Wait before the first retry; each further retry waits twice as long (default 1000 ms). */
  backoffMs?: number;
}

export interface EnqueueOptions {
  /**
   * The tenant the job acts in. Omitted: the caller's tenant (the request
   * context's), if any. null: no tenant (platform-wide work). Inside a tenant's
   * context no other tenant may be named.
   */
  tenantId?: string | null;
  /** Run no sooner than this many milliseconds from now. */
  delayMs?: number;
  /**
   * Idempotency key: while a job with the same name, tenant and key is kept
   * (until some days after it finished), enqueuing again does nothing and
   * returns that job's id.
   */
  jobKey?: string;
}

/** A job as the queue last recorded it. */
export interface JobState {
  id: string;
  name: string;
  tenantId: string | null;
  status: JobStatus;
  /** Runs started so far. */
  attempts: number;
  /** The error of the latest failed run. */
  error: string | null;
}

interface Registration {
  name: string;
  handler: JobHandler;
  concurrency: number;
  attempts: number;
  backoffMs: number;
}

interface NewJob {
  registration: Registration;
  tenantId: string | null;
  /** The payload as JSON text: every adapter hands the handler `JSON.parse` of it. */
  payload: string;
  delayMs: number;
  jobKey: string | null;
}

const NAME = /^[a-z][a-z0-9_.-]{0,99}$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JOB_KEY = /^[\x21-\x7e]{1,255}$/;
/** Jobs carry ids and small parameters; bulky input belongs in the blob store. */
const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_DELAY_MS = 366 * 24 * 3600 * 1000;
const MAX_BACKOFF_MS = 3600 * 1000;
const MAX_ERROR_LENGTH = 2000;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF_MS = 1000;
/** How long finished jobs (and so their idempotency keys) are kept. */
const KEEP_COMPLETED_MS = 7 * 24 * 3600 * 1000;
const KEEP_FAILED_MS = 30 * 24 * 3600 * 1000;

/** The wait before retrying after failed run number `attempt`: `backoffMs`, then doubling (BullMQ's exponential backoff). */
function retryDelay(backoffMs: number, attempt: number): number {
  return Math.min(backoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.slice(0, MAX_ERROR_LENGTH);
}

function atLeast(value: number | undefined, what: string, min: number): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= min)) {
    throw new Error(`${what} must be an integer of at least ${min}`);
  }
}

/**
 * The job-queue port: durable background work. Feature modules register a
 * handler per job name (in onModuleInit) and enqueue jobs with a JSON payload;
 * every instance runs the jobs of the names it registered. A handler runs in a
 * fresh request context of its own, with a system principal named after the
 * job, acting in the job's tenant, so tenant-scoped repositories work in it
 * and see that tenant only. Delivery is at least once (a job whose worker
 * dies mid-way runs again), so handlers must be idempotent.
 *
 * Enqueued inside a unit of work, a job is not visible to any worker before
 * that unit commits, and never if it rolls back. The queue starts taking jobs
 * when the application has started, and at shutdown stops taking them and
 * waits for the running ones, before the database and Redis connections close.
 */
export abstract class JobQueue implements OnApplicationBootstrap, BeforeApplicationShutdown {
  protected readonly logger = new Logger('Jobs');
  /** At most one warning every 10 s, so an outage of the store behind the queue does not flood the log. */
  protected readonly warn = throttledWarning(this.logger);
  protected readonly registrations = new Map<string, Registration>();

  protected constructor(
    protected readonly context: RequestContext,
    private readonly defaultConcurrency: number,
  ) {}

  register<P = unknown>(name: string, handler: JobHandler<P>, options: JobHandlerOptions = {}): void {
    if (!NAME.test(name)) {
      throw new Error(`Invalid job name ${JSON.stringify(name)}: a letter, then [A-Za-z0-9_.-], 100 at most`);
    }
    if (this.registrations.has(name)) throw new Error(`A handler for the job ${name} is already registered`);
    atLeast(options.concurrency, 'concurrency', 1);
    atLeast(options.attempts, 'attempts', 1);
    atLeast(options.backoffMs, 'backoffMs', 0);
    const registration: Registration = {
      name,
      handler: handler as JobHandler,
      concurrency: options.concurrency ?? this.defaultConcurrency,
      attempts: options.attempts ?? DEFAULT_ATTEMPTS,
      backoffMs: options.backoffMs ?? DEFAULT_BACKOFF_MS,
    };
    this.registrations.set(name, registration);
    this.registered(registration);
  }

  /** Enqueues a job of a registered name; returns its id. */
  async enqueue(name: string, payload: unknown, options: EnqueueOptions = {}): Promise<string> {
    const registration = this.registrations.get(name);
    if (!registration) throw new Error(`No handler is registered for the job ${name}`);
    const json = JSON.stringify(payload);
    if (json === undefined) throw new Error(`The payload of the job ${name} is not JSON`);
    if (Buffer.byteLength(json) > MAX_PAYLOAD_BYTES) {
      throw new Error(`The payload of the job ${name} exceeds ${MAX_PAYLOAD_BYTES} bytes; store bulky input as a blob`);
    }
    const delayMs = options.delayMs ?? 0;
    if (!(Number.isSafeInteger(delayMs) && delayMs >= 0 && delayMs <= MAX_DELAY_MS)) {
      throw new Error(`delayMs must be an integer from 0 to ${MAX_DELAY_MS}`);
    }
    if (options.jobKey !== undefined && !JOB_KEY.test(options.jobKey)) {
      throw new Error('jobKey must be 1-255 printable ASCII characters without spaces');
    }
    return this.add({
      registration,
      tenantId: this.tenantOf(options.tenantId),
      payload: json,
      delayMs,
      jobKey: options.jobKey ?? null,
    });
  }

  /** The job's state, or null for an unknown id (or one whose record has been pruned). */
  abstract getJob(id: string): Promise<JobState | null>;

  abstract onApplicationBootstrap(): void;

  /** Stops taking jobs and waits for the running ones to finish. */
  abstract beforeApplicationShutdown(): Promise<void>;

  protected abstract add(job: NewJob): Promise<string>;

  /** Called for each registration, also for those made after the queue started. */
  protected abstract registered(registration: Registration): void;

  /** Runs a job's handler in the job's own context (see the class comment). */
  protected runHandler(registration: Registration, payload: unknown, job: JobInfo): Promise<void> {
    return this.context.runInTenantContext(
      job.tenantId ?? undefined,
      async () => registration.handler(payload, job),
      registration.name,
    );
  }

  protected logFailure(job: JobInfo, error: string, retryInMs: number | null): void {
    const fields = { job: job.name, jobId: job.id, tenantId: job.tenantId ?? undefined, attempt: job.attempt };
    if (retryInMs === null) {
      this.logger.error({ ...fields, message: `Job ${job.name} failed after ${job.attempt} attempt(s): ${error}` });
    } else {
      this.logger.warn({
        ...fields,
        message: `Job ${job.name} failed (attempt ${job.attempt} of ${job.maxAttempts}), retrying in ${retryInMs}ms: ${error}`,
      });
    }
  }

  private tenantOf(requested: string | null | undefined): string | null {
    const current = this.context.hasTenant ? this.context.tenantId : undefined;
    if (requested === undefined) return current ?? null;
    if (requested === null) return null;
    if (!UUID.test(requested)) throw new Error('A job tenant must be a tenant id (a UUID)');
    if (current !== undefined && requested !== current) {
      throw new Error('A job can be enqueued only for the tenant the caller acts in');
    }
    return requested;
  }
}

export interface TableJobQueueOptions {
  pollIntervalMs: number;
  concurrency: number;
  /** How long a claim holds a job before another instance may take it over; renewed while the job runs. */
  leaseMs?: number;
}

const DEFAULT_LEASE_MS = 30_000;
const PRUNE_INTERVAL_MS = 10 * 60_000;
const ABANDONED = 'The instance running the job stopped before it finished (its lease expired)';

/**
 * Jobs in the database's `jobs` table: the default without REDIS_URL, on the
 * embedded database as on PostgreSQL. Each instance polls every
 * JOB_POLL_INTERVAL_MS (and at once after a job is enqueued here or one of its
 * jobs finishes) and claims due jobs of its registered names with FOR UPDATE
 * SKIP LOCKED, so no two instances take the same job. A claim is a lease,
 * renewed while the job runs; a job whose instance died is claimed again once
 * the lease has run out (or failed, if that was its last attempt).
 */
export class TableJobQueue extends JobQueue {
  /** Names this instance's leases (host, process, random), for operators reading the jobs table. */
  private readonly instanceId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly leaseMs: number;
  private readonly running = new Map<string, Promise<void>>();
  private readonly runningByName = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];
  private state: 'idle' | 'started' | 'stopping' | 'stopped' = 'idle';
  private polling: Promise<void> | null = null;
  private pollAgain = false;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly uow: UnitOfWork,
    context: RequestContext,
    private readonly options: TableJobQueueOptions,
  ) {
    super(context, options.concurrency);
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  onApplicationBootstrap(): void {
    if (this.state !== 'idle') return;
    this.state = 'started';
    this.every(this.options.pollIntervalMs, () => this.poke());
    this.every(this.leaseMs / 3, () => this.system('jobs.leases', () => this.maintainLeases()));
    this.every(PRUNE_INTERVAL_MS, () =>
      this.system('jobs.prune', () => this.jobs.pruneFinished(KEEP_COMPLETED_MS, KEEP_FAILED_MS, 1000)),
    );
    this.poke();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.state !== 'started') return;
    this.state = 'stopping';
    await this.polling;
    // Leases are still renewed while the last jobs finish.
    await Promise.allSettled(this.running.values());
    for (const timer of this.timers) clearInterval(timer);
    this.state = 'stopped';
  }

  async getJob(id: string): Promise<JobState | null> {
    if (!UUID.test(id)) return null;
    const row = await this.jobs.findById(id);
    return (
      row && {
        id: row.id,
        name: row.name,
        tenantId: row.tenantId,
        status: row.status,
        attempts: row.attempts,
        error: row.lastError,
      }
    );
  }

  protected async add(job: NewJob): Promise<string> {
    const id = await this.jobs.insert({
      name: job.registration.name,
      tenantId: job.tenantId,
      payload: job.payload,
      jobKey: job.jobKey,
      maxAttempts: job.registration.attempts,
      backoffMs: job.registration.backoffMs,
      delayMs: job.delayMs,
    });
    if (job.delayMs === 0) this.uow.afterCommit(() => this.poke());
    return id;
  }

  protected registered(): void {
    this.poke();
  }

  /** Polls now, or right after the poll in progress. */
  private poke(): void {
    if (this.state !== 'started') return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.pollAgain = false;
    this.polling = this.system('jobs.poll', () => this.poll()).finally(() => {
      this.polling = null;
      if (this.pollAgain) this.poke();
    });
  }

  private async poll(): Promise<void> {
    const free = [...this.registrations.values()].filter((r) => this.runningOf(r.name) < r.concurrency);
    if (free.length === 0) return;
    const due = new Set(await this.jobs.namesWithDueJobs(free.map((r) => r.name)));
    for (const registration of free) {
      if (!due.has(registration.name) || this.state !== 'started') continue;
      const limit = registration.concurrency - this.runningOf(registration.name);
      const claimed = await this.jobs.claim(registration.name, this.instanceId, limit, this.leaseMs);
      for (const job of claimed) this.start(registration, job);
    }
  }

  private start(registration: Registration, job: ClaimedJobRow): void {
    // This instance's own lease ran out and it claimed the job again: the run in progress finishes it.
    if (this.running.has(job.id)) return;
    this.runningByName.set(job.name, this.runningOf(job.name) + 1);
    const run = this.execute(registration, job).finally(() => {
      this.running.delete(job.id);
      this.runningByName.set(job.name, this.runningOf(job.name) - 1);
      this.poke();
    });
    this.running.set(job.id, run);
  }

  private async execute(registration: Registration, job: ClaimedJobRow): Promise<void> {
    const info: JobInfo = {
      id: job.id,
      name: job.name,
      tenantId: job.tenantId,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
    };
    let failure: string | null = null;
    try {
      await this.runHandler(registration, job.payload, info);
    } catch (err) {
      failure = errorText(err);
    }
    try {
      if (failure === null) {
        if (!(await this.jobs.complete(job.id, this.instanceId))) {
          this.warn(`Job ${job.name} (${job.id}) finished after another instance took it over`);
        }
        return;
      }
      const retryInMs = retryDelay(job.backoffMs, job.attempt);
      const status = await this.jobs.recordFailure(job.id, this.instanceId, failure, retryInMs);
      this.logFailure(info, failure, status === 'queued' ? retryInMs : null);
    } catch (err) {
      // The lease runs out and the job is run again: at least once.
      this.warn(`Cannot record the outcome of job ${job.name} (${job.id}): ${(err as Error).message}`);
    }
  }

  private async maintainLeases(): Promise<void> {
    const ids = [...this.running.keys()];
    const held = new Set(await this.jobs.extendLeases(ids, this.instanceId, this.leaseMs));
    // A job that finished meanwhile holds no lease any more, and is no loss.
    const lost = ids.filter((id) => !held.has(id) && this.running.has(id));
    if (lost.length > 0) this.warn(`Lost the lease of running job(s) ${lost.join(', ')} to another instance`);
    const abandoned = await this.jobs.failAbandoned(ABANDONED);
    if (abandoned > 0) this.logger.error(`${abandoned} job(s) failed for good: ${ABANDONED} on its last attempt`);
  }

  private runningOf(name: string): number {
    return this.runningByName.get(name) ?? 0;
  }

  private every(ms: number, fn: () => void): void {
    const timer = setInterval(fn, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** Runs the queue's own database work as a system job of no tenant, logging (not throwing) its failure. */
  private async system(name: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await this.context.runInTenantContext(undefined, fn, name);
    } catch (err) {
      this.warn(`${name} failed: ${(err as Error).message}`);
    }
  }
}

export interface BullMqJobQueueOptions {
  url: string;
  /** REDIS_PREFIX: keys are <prefix>:jobs:<job name>:… */
  prefix: string;
  concurrency: number;
}

interface BullMqData {
  tenantId: string | null;
  payload: string;
}

/** A job id derived from the idempotency key (UUID-shaped, like every other job id). */
function keyedJobId(tenantId: string | null, jobKey: string): string {
  const h = createHash('sha256')
    .update(`${tenantId ?? ''}\n${jobKey}`)
    .digest('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Jobs in Redis through BullMQ (with REDIS_URL): a queue per job name, and on
 * each instance a worker per registered name. BullMQ's job locks play the part
 * of the table queue's leases (a stalled job is taken over), its exponential
 * backoff is the same doubling, and an idempotency key becomes the job id.
 * Enqueuing while Redis is unreachable fails at once; inside a unit of work
 * the job is added once the unit has committed.
 */
export class BullMqJobQueue extends JobQueue implements OnApplicationShutdown {
  private readonly connection: Redis;
  private readonly prefix: string;
  private readonly queues = new Map<string, Queue<BullMqData>>();
  private readonly workers = new Map<string, Worker<BullMqData>>();
  private state: 'idle' | 'started' | 'stopping' | 'stopped' = 'idle';

  constructor(
    context: RequestContext,
    private readonly uow: UnitOfWork,
    options: BullMqJobQueueOptions,
  ) {
    super(context, options.concurrency);
    this.prefix = `${options.prefix}:jobs`;
    // BullMQ's workers block on Redis, which needs unlimited retries per request.
    this.connection = new Redis(options.url, { maxRetriesPerRequest: null });
    this.connection.on('error', (err: Error) => this.warn(`Redis: ${err.message}`));
  }

  onApplicationBootstrap(): void {
    if (this.state !== 'idle') return;
    this.state = 'started';
    for (const registration of this.registrations.values()) this.startWorker(registration);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.state !== 'started' && this.state !== 'idle') return;
    this.state = 'stopping';
    // Closing lets the active jobs finish first; with Redis unreachable they could not report back,
    // and a graceful close would wait for a connection that may never come.
    const force = this.connection.status !== 'ready';
    await Promise.allSettled([...this.workers.values()].map((worker) => worker.close(force)));
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.state = 'stopped';
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.connection.status === 'ready') await this.connection.quit().catch(() => this.connection.disconnect());
    else this.connection.disconnect();
  }

  async getJob(id: string): Promise<JobState | null> {
    for (const name of this.registrations.keys()) {
      // The state first, then the job: read the other way round, a job that failed in between shows its
      // final state with the previous attempt's error.
      const state = await this.queue(name).getJobState(id);
      const job = await BullJob.fromId<BullMqData>(this.queue(name), id);
      if (!job) continue;
      const status: JobStatus =
        state === 'completed' || state === 'failed' ? state : state === 'active' ? 'running' : 'queued';
      return {
        id,
        name,
        tenantId: job.data.tenantId,
        status,
        attempts: job.attemptsStarted ?? job.attemptsMade,
        error: job.failedReason ?? null,
      };
    }
    return null;
  }

  protected async add(job: NewJob): Promise<string> {
    const { name, attempts, backoffMs } = job.registration;
    const id = job.jobKey ? keyedJobId(job.tenantId, job.jobKey) : randomUUID();
    const add = () =>
      this.queue(name).add(
        name,
        { tenantId: job.tenantId, payload: job.payload },
        {
          jobId: id,
          delay: job.delayMs,
          attempts,
          backoff: { type: 'exponential', delay: backoffMs },
          removeOnComplete: { age: KEEP_COMPLETED_MS / 1000 },
          removeOnFail: { age: KEEP_FAILED_MS / 1000 },
        },
      );
    if (this.connection.status !== 'ready') throw new Error(`Redis is unavailable (${this.connection.status})`);
    if (this.uow.inTransaction) this.uow.afterCommit(add);
    else await add();
    return id;
  }

  protected registered(registration: Registration): void {
    if (this.state === 'started') this.startWorker(registration);
  }

  private queue(name: string): Queue<BullMqData> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue<BullMqData>(name, { connection: this.connection, prefix: this.prefix });
      queue.on('error', (err: Error) => this.warn(`Queue ${name}: ${err.message}`));
      this.queues.set(name, queue);
    }
    return queue;
  }

  private startWorker(registration: Registration): void {
    const worker = new Worker<BullMqData>(
      registration.name,
      async (job) => {
        const info: JobInfo = {
          id: job.id!,
          name: registration.name,
          tenantId: job.data.tenantId,
          attempt: job.attemptsMade + 1,
          maxAttempts: job.opts.attempts ?? 1,
        };
        try {
          await this.runHandler(registration, JSON.parse(job.data.payload), info);
        } catch (err) {
          const error = errorText(err);
          const last = info.attempt >= info.maxAttempts;
          this.logFailure(info, error, last ? null : retryDelay(registration.backoffMs, info.attempt));
          throw err;
        }
      },
      { connection: this.connection, prefix: this.prefix, concurrency: registration.concurrency },
    );
    worker.on('error', (err: Error) => this.warn(`Worker ${registration.name}: ${err.message}`));
    this.workers.set(registration.name, worker);
  }
}
