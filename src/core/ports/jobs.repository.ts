import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UnitOfWork } from '../database/unit-of-work.js';
import { queryRows } from '../database/query-rows.js';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface NewJobRow {
  name: string;
  tenantId: string | null;
  /** The payload as JSON text. */
  payload: string;
  jobKey: string | null;
  maxAttempts: number;
  backoffMs: number;
  delayMs: number;
}

/** A job this instance holds the lease of. */
export interface ClaimedJobRow {
  id: string;
  name: string;
  tenantId: string | null;
  payload: unknown;
  /** This run's number, from 1. */
  attempt: number;
  maxAttempts: number;
  backoffMs: number;
}

export interface JobRow {
  id: string;
  name: string;
  tenantId: string | null;
  status: JobStatus;
  attempts: number;
  lastError: string | null;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
/** `$n` milliseconds from now, as SQL. */
const msFromNow = (n: number) => `now() + make_interval(secs => $${n}::double precision / 1000)`;
/** `$n` milliseconds ago, as SQL. */
const msAgo = (n: number) => `now() - make_interval(secs => $${n}::double precision / 1000)`;
/** A job to claim now: queued and due, or running with an expired lease. */
const DUE = `((status = 'queued' AND run_at <= now()) OR (status = 'running' AND locked_until < now()))`;

/**
 * The jobs table (a platform table) behind TableJobQueue. Every statement is
 * hand-written: the claim is one UPDATE over a FOR UPDATE SKIP LOCKED select,
 * so concurrent pollers never take the same job, and a claim is a lease held
 * by one worker (`locked_by`) until `locked_until`; every later write checks
 * the lease is still this worker's. Times are the database's, so instances
 * with skewed clocks agree.
 */
@Injectable()
export class JobsRepository {
  constructor(private readonly uow: UnitOfWork) {}

  private rows<T = Record<string, unknown>>(sql: string, parameters: unknown[]): Promise<T[]> {
    return this.uow.unscoped((manager: EntityManager) => queryRows<T>(manager, sql, parameters));
  }

  /** Inserts the job (in the current unit of work, if any); with a key already taken, returns that job's id. */
  async insert(job: NewJobRow): Promise<string> {
    const inserted = await this.rows<{ id: string }>(
      `INSERT INTO jobs (name, tenant_id, payload, job_key, max_attempts, backoff_ms, run_at)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6, ${msFromNow(7)})
       ON CONFLICT (name, (coalesce(tenant_id, '${NIL_UUID}'::uuid)), job_key) WHERE job_key IS NOT NULL DO NOTHING
       RETURNING id`,
      [job.name, job.tenantId, job.payload, job.jobKey, job.maxAttempts, job.backoffMs, job.delayMs],
    );
    if (inserted.length > 0) return inserted[0].id;
    const [existing] = await this.rows<{ id: string }>(
      `SELECT id FROM jobs WHERE name = $1 AND tenant_id IS NOT DISTINCT FROM $2 AND job_key = $3`,
      [job.name, job.tenantId, job.jobKey],
    );
    return existing.id;
  }

  /** Which of `names` have a job to claim now: queued and due, or running with an expired lease. */
  async namesWithDueJobs(names: string[]): Promise<string[]> {
    const rows = await this.rows<{ name: string }>(
      `SELECT DISTINCT name FROM jobs
        WHERE name = ANY($1) AND attempts < max_attempts
          AND ${DUE}`,
      [names],
    );
    return rows.map((r) => r.name);
  }

  /** Takes up to `limit` jobs of `name` for `worker`, with a lease of `leaseMs`; each counts as an attempt. */
  async claim(name: string, worker: string, limit: number, leaseMs: number): Promise<ClaimedJobRow[]> {
    const rows = await this.rows(
      `UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $2, locked_until = ${msFromNow(4)}
        WHERE id IN (
          SELECT id FROM jobs
           WHERE name = $1 AND attempts < max_attempts
             AND ${DUE}
           ORDER BY run_at
           LIMIT $3
           FOR UPDATE SKIP LOCKED)
        RETURNING id, name, tenant_id, payload, attempts, max_attempts, backoff_ms`,
      [name, worker, limit, leaseMs],
    );
    return rows.map((r) => ({
      id: r.id as string,
      name: r.name as string,
      tenantId: r.tenant_id as string | null,
      payload: r.payload,
      attempt: r.attempts as number,
      maxAttempts: r.max_attempts as number,
      backoffMs: r.backoff_ms as number,
    }));
  }

  /** Extends `worker`'s leases on `ids`; returns the ids whose lease it still held. */
  async extendLeases(ids: string[], worker: string, leaseMs: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.rows<{ id: string }>(
      `UPDATE jobs SET locked_until = ${msFromNow(3)}
        WHERE id = ANY($1::uuid[]) AND locked_by = $2 AND status = 'running'
        RETURNING id`,
      [ids, worker, leaseMs],
    );
    return rows.map((r) => r.id);
  }

  /** Marks the job done, if `worker` still holds it; false when its lease was lost meanwhile. */
  async complete(id: string, worker: string): Promise<boolean> {
    const rows = await this.rows(
      `UPDATE jobs SET status = 'completed', finished_at = now(), locked_by = NULL, locked_until = NULL
        WHERE id = $1 AND locked_by = $2 AND status = 'running'
        RETURNING id`,
      [id, worker],
    );
    return rows.length > 0;
  }

  /**
   * Records a failed attempt (if `worker` still holds the job): queued again
   * after `retryInMs` while attempts remain, failed for good otherwise.
   */
  async recordFailure(id: string, worker: string, error: string, retryInMs: number): Promise<JobStatus | null> {
    const [row] = await this.rows<{ status: JobStatus }>(
      `UPDATE jobs SET
          status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,
          run_at = CASE WHEN attempts < max_attempts THEN ${msFromNow(4)} ELSE run_at END,
          finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END,
          last_error = $3, locked_by = NULL, locked_until = NULL
        WHERE id = $1 AND locked_by = $2 AND status = 'running'
        RETURNING status`,
      [id, worker, error, retryInMs],
    );
    return row?.status ?? null;
  }

  /** Fails the jobs whose worker died during their last allowed attempt (the lease ran out, no attempt is left). */
  async failAbandoned(error: string): Promise<number> {
    const rows = await this.rows(
      `UPDATE jobs SET status = 'failed', finished_at = now(), last_error = $1, locked_by = NULL, locked_until = NULL
        WHERE status = 'running' AND locked_until < now() AND attempts >= max_attempts
        RETURNING id`,
      [error],
    );
    return rows.length;
  }

  /** Deletes up to `limit` completed jobs finished before `completedMs` ago, and failed ones before `failedMs` ago. */
  async pruneFinished(completedMs: number, failedMs: number, limit: number): Promise<number> {
    const rows = await this.rows(
      `DELETE FROM jobs WHERE id IN (
          SELECT id FROM jobs
           WHERE finished_at IS NOT NULL
             AND ((status = 'completed' AND finished_at < ${msAgo(1)}) OR (status = 'failed' AND finished_at < ${msAgo(2)}))
           LIMIT $3)
        RETURNING id`,
      [completedMs, failedMs, limit],
    );
    return rows.length;
  }

  async findById(id: string): Promise<JobRow | null> {
    const [r] = await this.rows(`SELECT id, name, tenant_id, status, attempts, last_error FROM jobs WHERE id = $1`, [
      id,
    ]);
    if (!r) return null;
    return {
      id: r.id as string,
      name: r.name as string,
      tenantId: r.tenant_id as string | null,
      status: r.status as JobStatus,
      attempts: r.attempts as number,
      lastError: r.last_error as string | null,
    };
  }
}
