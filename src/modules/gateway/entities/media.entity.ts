import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintNumber } from '../../../core/database/bigint-number.js';

export type MediaType = 'image' | 'video';
export type VideoStatus = 'queued' | 'in_progress' | 'completed' | 'failed';

/** A generated image or video (tenant-owned); its bytes are in the blob store under `blobKey`. */
@Entity('media')
export class Media {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'user_id', nullable: true })
  userId: string | null;

  @Column('uuid', { name: 'api_key_id', nullable: true })
  apiKeyId: string | null;

  @Column('varchar')
  type: MediaType;

  @Column('varchar')
  model: string;

  @Column('text')
  prompt: string;

  @Column('varchar', { name: 'content_type' })
  contentType: string;

  @Column('bigint', { name: 'size_bytes', transformer: bigintNumber })
  sizeBytes: number;

  @Column('int', { nullable: true })
  width: number | null;

  @Column('int', { nullable: true })
  height: number | null;

  @Column('int', { nullable: true })
  seconds: number | null;

  @Column('varchar', { name: 'blob_key' })
  blobKey: string;

  @Column('varchar', { name: 'client_ip', nullable: true })
  clientIp: string | null;

  @Column('varchar', { name: 'request_id', nullable: true })
  requestId: string | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;
}

/** A video generation in the shape of OpenAI's video jobs, worked on in the background (tenant-owned). */
@Entity('video_jobs')
export class VideoJob {
  @PrimaryColumn('uuid', { name: 'tenant_id' })
  tenantId: string;

  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'user_id', nullable: true })
  userId: string | null;

  @Column('uuid', { name: 'api_key_id', nullable: true })
  apiKeyId: string | null;

  @Column('varchar')
  model: string;

  @Column('text')
  prompt: string;

  @Column('int')
  seconds: number;

  @Column('varchar')
  size: string;

  @Column('varchar')
  status: VideoStatus;

  @Column('int')
  progress: number;

  @Column('uuid', { name: 'reservation_id' })
  reservationId: string;

  @Column('uuid', { name: 'provider_id', nullable: true })
  providerId: string | null;

  @Column('varchar', { name: 'provider_model', nullable: true })
  providerModel: string | null;

  /** The upstream's id of its long-running operation, once started. */
  @Column('varchar', { name: 'upstream_id', nullable: true })
  upstreamId: string | null;

  @Column('uuid', { name: 'media_id', nullable: true })
  mediaId: string | null;

  @Column('varchar', { name: 'error_code', nullable: true })
  errorCode: string | null;

  @Column('varchar', { name: 'error_message', nullable: true })
  errorMessage: string | null;

  @Column('varchar', { name: 'client_ip', nullable: true })
  clientIp: string | null;

  @Column('varchar', { name: 'request_id', nullable: true })
  requestId: string | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt: Date;

  @Column('timestamptz', { name: 'completed_at', nullable: true })
  completedAt: Date | null;
}
