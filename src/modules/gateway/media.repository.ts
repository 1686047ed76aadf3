import { Injectable } from '@nestjs/common';
import { RequestContext } from '../../core/context/request-context.js';
import { TenantScopedRepository } from '../../core/database/tenant-scoped.repository.js';
import { UnitOfWork } from '../../core/database/unit-of-work.js';
import { Media, type MediaType, VideoJob, type VideoStatus } from './entities/media.entity.js';

export interface MediaFilter {
  /** Only this user's media (a member's own view, or a tenant admin's filter). */
  userId?: string;
  type?: MediaType;
  from?: Date;
  to?: Date;
}

export interface MediaListed extends Omit<Media, 'tenantId'> {
  /** The owner's e-mail (null for media made with the tenant key, or by a user since removed). */
  userEmail: string | null;
}

export interface MediaTotals {
  type: MediaType;
  count: number;
  bytes: number;
}

interface MediaRow {
  id: string;
  user_id: string | null;
  api_key_id: string | null;
  type: MediaType;
  model: string;
  prompt: string;
  content_type: string;
  size_bytes: string;
  width: number | null;
  height: number | null;
  seconds: number | null;
  blob_key: string;
  client_ip: string | null;
  request_id: string | null;
  created_at: Date;
  user_email: string | null;
}

/** The filter as SQL conditions on `m` from $2 on (the tenant is $1). */
function where(filter: MediaFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const conditions = ['m.tenant_id = $1'];
  const add = (condition: string, value: unknown) => {
    params.push(value);
    conditions.push(condition.replace('?', `$${params.length + 1}`));
  };
  if (filter.userId !== undefined) add('m.user_id = ?::uuid', filter.userId);
  if (filter.type !== undefined) add('m.type = ?', filter.type);
  if (filter.from !== undefined) add('m.created_at >= ?', filter.from);
  if (filter.to !== undefined) add('m.created_at < ?', filter.to);
  return { sql: conditions.join(' AND '), params };
}

/** The tenant's generated media. */
@Injectable()
export class MediaRepository extends TenantScopedRepository<Media> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(Media, uow, context);
  }

  record(values: Omit<Media, 'tenantId' | 'createdAt'>): Promise<Media> {
    return this.insertOne(values);
  }

  findById(id: string): Promise<Media | null> {
    return this.findOne({ id });
  }

  /** A page of media, newest first, with each owner's e-mail; and how many match in all. */
  async list(filter: MediaFilter, limit: number, offset: number): Promise<[MediaListed[], number]> {
    const { sql, params } = where(filter);
    const n = params.length;
    const [rows, [{ total }]] = await Promise.all([
      this.query<MediaRow>(
        `SELECT m.*, u.email AS user_email FROM media m
           LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.user_id
          WHERE ${sql} ORDER BY m.created_at DESC, m.id DESC LIMIT $${n + 2} OFFSET $${n + 3}`,
        [...params, limit, offset],
      ),
      this.query<{ total: string }>(`SELECT count(*) AS total FROM media m WHERE ${sql}`, params),
    ]);
    return [rows.map(listed), Number(total)];
  }

  /** Counts and bytes by type. */
  async totals(filter: MediaFilter): Promise<MediaTotals[]> {
    const { sql, params } = where(filter);
    const rows = await this.query<{ type: MediaType; count: string; bytes: string }>(
      `SELECT m.type, count(*) AS count, coalesce(sum(m.size_bytes), 0) AS bytes FROM media m
        WHERE ${sql} GROUP BY m.type ORDER BY m.type`,
      params,
    );
    return rows.map((r) => ({ type: r.type, count: Number(r.count), bytes: Number(r.bytes) }));
  }

  /** Deletes the row; whether there was one. */
  async remove(id: string): Promise<boolean> {
    return (await this.deleteWhere({ id })) > 0;
  }
}

function listed(row: MediaRow): MediaListed {
  return {
    id: row.id,
    userId: row.user_id,
    apiKeyId: row.api_key_id,
    type: row.type,
    model: row.model,
    prompt: row.prompt,
    contentType: row.content_type,
    sizeBytes: Number(row.size_bytes),
    width: row.width,
    height: row.height,
    seconds: row.seconds,
    blobKey: row.blob_key,
    clientIp: row.client_ip,
    requestId: row.request_id,
    createdAt: row.created_at,
    userEmail: row.user_email,
  };
}

/** The tenant's video jobs. */
@Injectable()
export class VideoJobsRepository extends TenantScopedRepository<VideoJob> {
  constructor(uow: UnitOfWork, context: RequestContext) {
    super(VideoJob, uow, context);
  }

  create(values: Omit<VideoJob, 'tenantId' | 'createdAt' | 'completedAt'>): Promise<VideoJob> {
    return this.insertOne(values);
  }

  findById(id: string): Promise<VideoJob | null> {
    return this.findOne({ id });
  }

  async list(userId: string | undefined, limit: number, offset: number): Promise<[VideoJob[], number]> {
    const where = userId === undefined ? {} : { userId };
    const [jobs, total] = await Promise.all([
      this.find({ where, order: { createdAt: 'DESC', id: 'DESC' }, take: limit, skip: offset }),
      this.count(where),
    ]);
    return [jobs, total];
  }

  /** Moves a job on, only from a status it may leave (a finished job stays finished); whether it moved. */
  async advance(id: string, from: VideoStatus[], patch: Partial<Omit<VideoJob, 'tenantId' | 'id'>>): Promise<boolean> {
    const rows = await this.query<{ id: string }>(
      `UPDATE video_jobs SET
          status = coalesce($4, status), progress = coalesce($5, progress),
          provider_id = coalesce($6::uuid, provider_id), provider_model = coalesce($7, provider_model),
          upstream_id = coalesce($8, upstream_id), media_id = coalesce($9::uuid, media_id),
          error_code = coalesce($10, error_code), error_message = coalesce($11, error_message),
          completed_at = coalesce($12, completed_at)
        WHERE tenant_id = $1 AND id = $2 AND status = ANY($3::varchar[]) RETURNING id`,
      [
        id,
        from,
        patch.status ?? null,
        patch.progress ?? null,
        patch.providerId ?? null,
        patch.providerModel ?? null,
        patch.upstreamId ?? null,
        patch.mediaId ?? null,
        patch.errorCode ?? null,
        patch.errorMessage?.slice(0, 500) ?? null,
        patch.completedAt ?? null,
      ],
    );
    return rows.length > 0;
  }
}
