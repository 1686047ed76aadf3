import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory.js';
import { loadConfig } from '../../src/config/app-config.js';
import { RequestContext } from '../../src/core/context/request-context.js';
import { UnitOfWork } from '../../src/core/database/unit-of-work.js';
import { UsersRepository } from '../../src/core/identity/users.repository.js';
import { AppLogger, createPino } from '../../src/core/logging/logger.js';
import { BullMqJobQueue, type JobInfo, JobQueue, TableJobQueue } from '../../src/core/ports/job-queue.js';
import { JobsRepository } from '../../src/core/ports/jobs.repository.js';
import type { DatabaseOverrides } from '../../src/database/database-options.js';
import { createTestApp, MemoryLog, SUPER_ADMIN, TEST_JWT_SECRET, type TestApp } from '../helpers/test-app.js';
import { cloneTemplateDatabase } from '../helpers/test-database.js';

const engine = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite';
const redisUrl = process.env.REDIS_URL;
/** Job names carry the run's id: BullMQ keeps its jobs in the Redis every run shares. */
const run = randomBytes(3).toString('hex');
const named = (name: string) => `${name}-${run}`;

interface Adapter {
  name: string;
  kind: 'table' | 'bullmq';
  env: Record<string, string | undefined>;
}

// The table queue always; BullMQ wherever Redis is configured for the run.
const adapters: Adapter[] = [{ name: `the jobs table on ${engine}`, kind: 'table', env: { REDIS_URL: undefined } }];
if (redisUrl) adapters.push({ name: 'BullMQ on Redis', kind: 'bullmq', env: { REDIS_URL: redisUrl } });

const FAST = { JOB_POLL_INTERVAL_MS: '50' };

/** Retries `check` until it stops throwing (or the time is up, when its last error is thrown). */
async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

async function newTenant(dataSource: DataSource): Promise<string> {
  const slug = `jobs-${randomBytes(4).toString('hex')}`;
  const [row] = await dataSource.query(`INSERT INTO tenants (name, slug) VALUES ($1, $2) RETURNING id`, [slug, slug]);
  return row.id as string;
}

/** The application on a database it may share with an earlier or later instance (restart tests). */
async function bootApp(
  env: Record<string, string | undefined>,
  database: DatabaseOverrides,
): Promise<INestApplication> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    MIGRATIONS_RUN: 'false',
    BCRYPT_COST: '4',
    JWT_SECRET: TEST_JWT_SECRET,
    SUPER_ADMIN_EMAIL: SUPER_ADMIN.email,
    SUPER_ADMIN_PASSWORD: SUPER_ADMIN.password,
    ...FAST,
    ...env,
  });
  const app = await createApp({ config, logger: new AppLogger(createPino(config, new MemoryLog())), database });
  await app.init();
  return app;
}

describe.each(adapters)('JobQueue on $name', (adapter) => {
  let t: TestApp;
  let queue: JobQueue;

  beforeAll(async () => {
    t = await createTestApp({ ...FAST, ...adapter.env });
    queue = t.app.get(JobQueue);
  });
  afterAll(async () => {
    await t.close();
    if (adapter.kind === 'bullmq') {
      const redis = new Redis(redisUrl!);
      const keys = await redis.keys(`${t.database.redisPrefix}:jobs:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });

  it('is the adapter the configuration selects', () => {
    expect(queue).toBeInstanceOf(adapter.kind === 'table' ? TableJobQueue : BullMqJobQueue);
  });

  it('runs a job in its tenant’s context, where tenant-scoped repositories see that tenant only', async () => {
    const context = t.app.get(RequestContext);
    const users = t.app.get(UsersRepository);
    const [tenantA, tenantB] = [await newTenant(t.dataSource), await newTenant(t.dataSource)];
    const [user] = await t.dataSource.query(
      `INSERT INTO users (tenant_id, email, name, role) VALUES ($1, 'probe@example.test', 'Probe', 'member') RETURNING id`,
      [tenantA],
    );
    const seen: Record<string, unknown>[] = [];
    const name = named('tenant-probe');
    queue.register<{ userId: string }>(name, async ({ userId }, job) => {
      seen.push({
        job,
        tenantId: context.tenantId,
        principal: { kind: context.principal.kind, subject: context.principal.subject },
        userFound: (await users.findById(userId)) !== null,
      });
    });

    const inA = await queue.enqueue(name, { userId: user.id }, { tenantId: tenantA });
    await eventually(() => expect(seen).toHaveLength(1));
    expect(seen[0]).toEqual({
      job: { id: inA, name, tenantId: tenantA, attempt: 1, maxAttempts: 3 },
      tenantId: tenantA,
      principal: { kind: 'system', subject: name },
      userFound: true,
    });

    await queue.enqueue(name, { userId: user.id }, { tenantId: tenantB });
    await eventually(() => expect(seen).toHaveLength(2));
    expect(seen[1]).toMatchObject({ tenantId: tenantB, userFound: false });

    // Enqueued while acting in a tenant, a job belongs to that tenant, and to no other.
    await context.runInTenant(tenantA, () => queue.enqueue(name, { userId: user.id }));
    await eventually(() => expect(seen).toHaveLength(3));
    expect(seen[2]).toMatchObject({ tenantId: tenantA, userFound: true });
    await expect(
      context.runInTenant(tenantA, () => queue.enqueue(name, { userId: user.id }, { tenantId: tenantB })),
    ).rejects.toThrow('only for the tenant the caller acts in');
  });

  it('retries a failing job with exponential backoff, then records it failed with its error', async () => {
    const name = named('always-fails');
    const runs: { at: number; attempt: number }[] = [];
    queue.register(
      name,
      async (_payload, job) => {
        runs.push({ at: Date.now(), attempt: job.attempt });
        throw new Error(`provider unavailable (attempt ${job.attempt})`);
      },
      { attempts: 3, backoffMs: 150 },
    );
    const id = await queue.enqueue(name, {});
    const failed = await eventually(async () => {
      const state = await queue.getJob(id);
      expect(state?.status).toBe('failed');
      return state;
    });
    expect(failed).toEqual({
      id,
      name,
      tenantId: null,
      status: 'failed',
      attempts: 3,
      error: 'provider unavailable (attempt 3)',
    });
    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    // 150 ms before the first retry, 300 ms before the second (a little slack for timer granularity).
    expect(runs[1].at - runs[0].at).toBeGreaterThanOrEqual(140);
    expect(runs[2].at - runs[1].at).toBeGreaterThanOrEqual(290);
    await sleep(200);
    expect(runs).toHaveLength(3);
  });

  it('completes a job that succeeds on a retry', async () => {
    const name = named('fails-once');
    queue.register(
      name,
      async (_payload, job) => {
        if (job.attempt === 1) throw new Error('transient');
      },
      { attempts: 5, backoffMs: 10 },
    );
    const id = await queue.enqueue(name, {});
    await eventually(async () => expect(await queue.getJob(id)).toMatchObject({ status: 'completed', attempts: 2 }));
  });

  it('enqueues a job once per job key, however often and concurrently it is asked', async () => {
    const name = named('keyed');
    const runs: string[] = [];
    queue.register<{ n: number }>(name, async ({ n }, job) => void runs.push(`${job.tenantId}:${n}`));
    const tenant = await newTenant(t.dataSource);
    const first = await queue.enqueue(name, { n: 1 }, { jobKey: 'document:42:index' });
    const again = await Promise.all(
      [2, 3, 4, 5].map((n) => queue.enqueue(name, { n }, { jobKey: 'document:42:index' })),
    );
    expect(new Set([first, ...again])).toEqual(new Set([first]));
    const otherTenant = await queue.enqueue(name, { n: 6 }, { jobKey: 'document:42:index', tenantId: tenant });
    expect(otherTenant).not.toBe(first);

    await eventually(async () => expect(await queue.getJob(first)).toMatchObject({ status: 'completed' }));
    await eventually(async () => expect(await queue.getJob(otherTenant)).toMatchObject({ status: 'completed' }));
    expect(await queue.enqueue(name, { n: 7 }, { jobKey: 'document:42:index' })).toBe(first);
    await sleep(200);
    expect(runs.sort()).toEqual([`${tenant}:6`, 'null:1']);
  });

  it('runs nothing for a unit of work that rolled back, and the job of one that committed', async () => {
    const uow = t.app.get(UnitOfWork);
    const name = named('after-commit');
    const runs: string[] = [];
    queue.register<{ label: string }>(name, async ({ label }) => void runs.push(label));
    let rolledBack = '';
    await expect(
      uow.run(async () => {
        rolledBack = await queue.enqueue(name, { label: 'rolled back' });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const committed = await uow.run(() => queue.enqueue(name, { label: 'committed' }));
    await eventually(async () => expect(await queue.getJob(committed)).toMatchObject({ status: 'completed' }));
    await sleep(150);
    expect(runs).toEqual(['committed']);
    expect(await queue.getJob(rolledBack)).toBeNull();
  });

  it('runs a delayed job no sooner than its delay', async () => {
    const name = named('delayed');
    let ranAt = 0;
    queue.register(name, async () => {
      ranAt = Date.now();
    });
    const enqueuedAt = Date.now();
    const id = await queue.enqueue(name, {}, { delayMs: 400 });
    await sleep(200);
    expect(await queue.getJob(id)).toMatchObject({ status: 'queued', attempts: 0 });
    await eventually(() => expect(ranAt).toBeGreaterThan(0));
    expect(ranAt - enqueuedAt).toBeGreaterThanOrEqual(390);
  });

  it('refuses an unregistered name, a payload that is not JSON and a malformed key', async () => {
    await expect(queue.enqueue(named('nobody-handles-this'), {})).rejects.toThrow('No handler is registered');
    const name = named('validation');
    queue.register(name, async () => undefined);
    expect(() => queue.register(name, async () => undefined)).toThrow('already registered');
    await expect(queue.enqueue(name, undefined)).rejects.toThrow('not JSON');
    await expect(queue.enqueue(name, { blob: 'x'.repeat(70_000) })).rejects.toThrow('exceeds');
    await expect(queue.enqueue(name, {}, { jobKey: 'has spaces' })).rejects.toThrow('jobKey');
    await expect(queue.enqueue(name, {}, { delayMs: -1 })).rejects.toThrow('delayMs');
    expect(() => queue.register('bad:name', async () => undefined)).toThrow('Invalid job name');
  });

  it('runs N jobs exactly N times in total across two queue instances on one database', async () => {
    const context = t.app.get(RequestContext);
    const uow = t.app.get(UnitOfWork);
    const second =
      adapter.kind === 'table'
        ? new TableJobQueue(t.app.get(JobsRepository), uow, context, { pollIntervalMs: 50, concurrency: 3 })
        : new BullMqJobQueue(context, uow, { url: redisUrl!, prefix: t.database.redisPrefix, concurrency: 3 });
    const name = named('fan-out');
    const runs = new Map<number, string[]>();
    const handler =
      (instance: string) =>
      async ({ n }: { n: number }) => {
        runs.set(n, [...(runs.get(n) ?? []), instance]);
        await sleep(5 + (n % 3) * 5);
      };
    queue.register(name, handler('first'), { concurrency: 3 });
    second.register(name, handler('second'), { concurrency: 3 });
    second.onApplicationBootstrap();
    try {
      const total = 40;
      const ids = await Promise.all(Array.from({ length: total }, (_, n) => queue.enqueue(name, { n })));
      expect(new Set(ids).size).toBe(total);
      await eventually(() => expect(runs.size).toBe(total), 15_000);
      await eventually(async () => {
        for (const id of ids) expect((await queue.getJob(id))?.status).toBe('completed');
      });
      await sleep(200);
      const counts = [...runs.values()].map((instances) => instances.length);
      expect(counts).toEqual(Array.from({ length: total }, () => 1));
      const byInstance = [...runs.values()].flat();
      expect(byInstance).toContain('first');
      expect(byInstance).toContain('second');
    } finally {
      await second.beforeApplicationShutdown();
      if (second instanceof BullMqJobQueue) await second.onApplicationShutdown();
    }
  });

  it('lets a running job finish at shutdown, and runs after a restart a job enqueued before it', async () => {
    const template = await cloneTemplateDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'atrium-jobs-'));
    // The same database for both instances: the same PostgreSQL database, or the same embedded data directory.
    const env = { ...adapter.env, DATABASE_URL: template.url, DATA_DIR: dataDir };
    const slow = named('slow');
    const later = named('later');
    const ran: string[] = [];
    try {
      const before = await bootApp(env, template.overrides);
      const first = before.get(JobQueue);
      first.register(slow, async () => {
        await sleep(400);
        ran.push('slow, before the restart');
      });
      first.register(later, async () => void ran.push('later, before the restart'));
      const slowId = await first.enqueue(slow, {});
      const laterId = await first.enqueue(later, {}, { delayMs: 700 });
      await eventually(async () => expect(await first.getJob(slowId)).toMatchObject({ status: 'running' }));
      await before.close();
      expect(ran).toEqual(['slow, before the restart']);

      const after = await bootApp(env, {});
      try {
        const second = after.get(JobQueue);
        second.register(slow, async () => void ran.push('slow, after the restart'));
        second.register(later, async () => void ran.push('later, after the restart'));
        await eventually(async () => expect(await second.getJob(laterId)).toMatchObject({ status: 'completed' }));
        expect(await second.getJob(slowId)).toMatchObject({ status: 'completed', attempts: 1 });
        expect(ran).toEqual(['slow, before the restart', 'later, after the restart']);
      } finally {
        await after.close();
      }
    } finally {
      await template.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe(`TableJobQueue leases on ${engine}`, () => {
  let t: TestApp;
  const queues: TableJobQueue[] = [];
  const newQueue = () => {
    const queue = new TableJobQueue(t.app.get(JobsRepository), t.app.get(UnitOfWork), t.app.get(RequestContext), {
      pollIntervalMs: 50,
      concurrency: 2,
      leaseMs: 300,
    });
    queues.push(queue);
    return queue;
  };

  beforeAll(async () => {
    t = await createTestApp({ ...FAST, REDIS_URL: undefined });
  });
  afterAll(async () => {
    for (const queue of queues) await queue.beforeApplicationShutdown();
    await t.close();
  });

  /** A job as a worker that died mid-run leaves it: running, under a lease that has run out. */
  async function orphan(name: string, attempts: number, maxAttempts: number): Promise<string> {
    const [row] = await t.dataSource.query(
      `INSERT INTO jobs (name, payload, status, attempts, max_attempts, backoff_ms, locked_by, locked_until)
       VALUES ($1, '{}', 'running', $2, $3, 10, 'crashed-host:1:dead', now() - interval '1 second') RETURNING id`,
      [name, attempts, maxAttempts],
    );
    return row.id as string;
  }

  it('takes over a job whose worker died once its lease has run out, or fails it if that was its last attempt', async () => {
    const queue = newQueue();
    const name = named('orphaned');
    const attempts: JobInfo[] = [];
    queue.register(name, async (_payload, job) => void attempts.push(job));
    const retried = await orphan(name, 1, 3);
    const exhausted = await orphan(name, 3, 3);
    queue.onApplicationBootstrap();

    await eventually(async () =>
      expect(await queue.getJob(retried)).toMatchObject({ status: 'completed', attempts: 2 }),
    );
    expect(attempts).toEqual([{ id: retried, name, tenantId: null, attempt: 2, maxAttempts: 3 }]);
    await eventually(async () =>
      expect(await queue.getJob(exhausted)).toMatchObject({
        status: 'failed',
        attempts: 3,
        error: expect.stringContaining('stopped before it finished'),
      }),
    );
  });

  it('renews the lease of a job that runs longer than it, so no other instance takes the job over', async () => {
    const [a, b] = [newQueue(), newQueue()];
    const name = named('long-running');
    const runs: string[] = [];
    a.register(name, async () => {
      runs.push('a');
      await sleep(1000);
    });
    b.register(name, async () => {
      runs.push('b');
      await sleep(1000);
    });
    a.onApplicationBootstrap();
    const id = await a.enqueue(name, {});
    await eventually(() => expect(runs).toHaveLength(1));
    b.onApplicationBootstrap();
    await eventually(async () => expect(await a.getJob(id)).toMatchObject({ status: 'completed', attempts: 1 }));
    expect(runs).toHaveLength(1);
  });
});
