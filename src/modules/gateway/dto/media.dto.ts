import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsIn, IsInt, IsString, IsUUID, Matches, Max, Min } from 'class-validator';
import { Transform } from 'class-transformer';
import { Optional } from '../../../core/http/dto-fields.js';
import { PageQuery, toInt } from '../../../core/http/pagination.js';
import type { Media, MediaType, VideoJob, VideoStatus } from '../entities/media.entity.js';
import type { MediaListed, MediaTotals } from '../media.repository.js';

const MEDIA_TYPES = ['image', 'video'] as const;

export class MediaQuery extends PageQuery {
  @ApiPropertyOptional({ enum: MEDIA_TYPES })
  @Optional()
  @IsIn(MEDIA_TYPES)
  type?: MediaType;

  @ApiPropertyOptional({ format: 'uuid', description: "One user's media (tenant admins; a member may name only self)" })
  @Optional()
  @IsUUID()
  userId?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Made at or after' })
  @Optional()
  @IsDateString({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Made before' })
  @Optional()
  @IsDateString({ strict: true })
  to?: string;
}

export class MediaStatsQuery {
  @ApiPropertyOptional({ format: 'uuid', description: "One user's media (tenant admins; a member may name only self)" })
  @Optional()
  @IsUUID()
  userId?: string;
}

/** A signed link's parameters, as the link carries them. */
export class SignedLinkQuery {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  tenant: string;

  @ApiProperty({ description: 'Unix seconds' })
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(2 ** 40)
  expires: number;

  @ApiProperty()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,100}$/)
  signature: string;
}

export class MediaDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['media'] }) object: 'media';
  @ApiProperty({ enum: MEDIA_TYPES }) type: MediaType;
  @ApiProperty({ description: 'The model alias that made it' }) model: string;
  @ApiProperty() prompt: string;
  @ApiProperty({ example: 'image/png' }) contentType: string;
  @ApiProperty() sizeBytes: number;
  @ApiProperty({ type: Number, nullable: true }) width: number | null;
  @ApiProperty({ type: Number, nullable: true }) height: number | null;
  @ApiProperty({ type: Number, nullable: true }) seconds: number | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) userId: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) apiKeyId: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: "The owner's e-mail (tenant admins' view)" })
  userEmail?: string | null;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'The client IP it was made from (tenant admins)' })
  clientIp?: string | null;
  @ApiProperty({ description: 'A signed link to the bytes, valid for MEDIA_URL_TTL_SECONDS' }) url: string;
  @ApiProperty() createdAt: Date;

  static from(media: Omit<Media, 'tenantId'> | MediaListed, url: string, admin: boolean): MediaDto {
    return {
      id: media.id,
      object: 'media',
      type: media.type,
      model: media.model,
      prompt: media.prompt,
      contentType: media.contentType,
      sizeBytes: media.sizeBytes,
      width: media.width,
      height: media.height,
      seconds: media.seconds,
      userId: media.userId,
      apiKeyId: media.apiKeyId,
      ...(admin && { clientIp: media.clientIp, ...('userEmail' in media && { userEmail: media.userEmail }) }),
      url,
      createdAt: media.createdAt,
    };
  }
}

export class MediaPageDto {
  @ApiProperty({ type: [MediaDto] }) items: MediaDto[];
  @ApiProperty() total: number;
  @ApiProperty() limit: number;
  @ApiProperty() offset: number;
}

class MediaTotalDto {
  @ApiProperty() count: number;
  @ApiProperty() bytes: number;
}

class MediaByTypeDto {
  @ApiProperty({ type: MediaTotalDto }) image: MediaTotalDto;
  @ApiProperty({ type: MediaTotalDto }) video: MediaTotalDto;
}

export class MediaStatsDto {
  @ApiProperty({ type: MediaTotalDto }) total: MediaTotalDto;
  @ApiProperty({ type: MediaByTypeDto }) byType: MediaByTypeDto;

  static from(totals: MediaTotals[]): MediaStatsDto {
    const of = (type: MediaType) => {
      const row = totals.find((t) => t.type === type);
      return { count: row?.count ?? 0, bytes: row?.bytes ?? 0 };
    };
    const byType = { image: of('image'), video: of('video') };
    return {
      total: { count: byType.image.count + byType.video.count, bytes: byType.image.bytes + byType.video.bytes },
      byType,
    };
  }
}

// ---- videos ------------------------------------------------------------------------

export const VIDEO_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['prompt'],
  properties: {
    model: { type: 'string', minLength: 1, maxLength: 100 },
    prompt: { type: 'string', minLength: 1, maxLength: 32_000 },
    seconds: {
      oneOf: [
        { type: 'integer', minimum: 1, maximum: 60 },
        { type: 'string', pattern: '^[1-9][0-9]?$' },
      ],
      description: 'Length in seconds, 1 to 60 (OpenAI’s SDK sends it as a string)',
    },
    size: { type: 'string', pattern: '^[1-9][0-9]{1,3}x[1-9][0-9]{1,3}$', description: 'WIDTHxHEIGHT' },
  },
} as const;

export interface VideoBody {
  model?: string;
  prompt: string;
  seconds?: number | string;
  size?: string;
}

export class VideoErrorDto {
  @ApiProperty() code: string;
  @ApiProperty() message: string;
}

export class VideoDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['video'] }) object: 'video';
  @ApiProperty({ enum: ['queued', 'in_progress', 'completed', 'failed'] }) status: VideoStatus;
  @ApiProperty({ description: '0 to 100' }) progress: number;
  @ApiProperty() model: string;
  @ApiProperty() prompt: string;
  @ApiProperty({ description: 'Seconds, as OpenAI writes them' }) seconds: string;
  @ApiProperty() size: string;
  @ApiProperty({ description: 'Unix seconds' }) created_at: number;
  @ApiProperty({ type: Number, nullable: true, description: 'Unix seconds' }) completed_at: number | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The stored video, once completed' })
  media_id: string | null;
  @ApiProperty({ type: VideoErrorDto, nullable: true }) error: VideoErrorDto | null;

  static from(job: VideoJob): VideoDto {
    return {
      id: job.id,
      object: 'video',
      status: job.status,
      progress: job.progress,
      model: job.model,
      prompt: job.prompt,
      seconds: String(job.seconds),
      size: job.size,
      created_at: Math.floor(job.createdAt.getTime() / 1000),
      completed_at: job.completedAt ? Math.floor(job.completedAt.getTime() / 1000) : null,
      media_id: job.mediaId,
      error: job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '' } : null,
    };
  }
}

export class VideoListDto {
  @ApiProperty({ enum: ['list'] }) object: 'list';
  @ApiProperty({ type: [VideoDto] }) data: VideoDto[];
  @ApiProperty() total: number;
  @ApiProperty() has_more: boolean;
}
