import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Query,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticated, Public } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import { actsForTenant } from '../../core/context/principal.js';
import { RequestContext } from '../../core/context/request-context.js';
import type { BlobContent } from '../../core/ports/blob-store.js';
import { ActsInTenant } from '../../core/identity/tenant-selection.js';
import { pageOf } from '../../core/http/pagination.js';
import {
  MediaDto,
  MediaPageDto,
  MediaQuery,
  MediaStatsDto,
  MediaStatsQuery,
  SignedLinkQuery,
} from './dto/media.dto.js';
import type { Media } from './entities/media.entity.js';
import { MediaService } from './media.service.js';

const id = new ParseUUIDPipe({ version: '4' });

/** The origin the request reached the server at (proxy-aware through TRUST_PROXY), for links. */
export const originOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

/** The bytes of a media item, as a download the browser may show inline. */
export function mediaFile(media: Media, content: BlobContent, reply: FastifyReply): StreamableFile {
  reply.header('cache-control', 'private, max-age=300').header('x-content-type-options', 'nosniff');
  return new StreamableFile(content.body, {
    type: media.contentType,
    length: content.size,
    disposition: `inline; filename="${media.id}"`,
  });
}

/** The gallery of generated media: members see their own, tenant admins and the tenant key the tenant's. */
@ApiTags('media')
@ActsInTenant()
@Controller('media')
export class MediaController {
  constructor(
    private readonly media: MediaService,
    private readonly context: RequestContext,
  ) {}

  @Get()
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({ summary: 'Generated images and videos, newest first (tenant admins: with e-mail and IP)' })
  @ApiOkResponse({ type: MediaPageDto })
  async list(@Query() query: MediaQuery, @Req() request: FastifyRequest): Promise<MediaPageDto> {
    const { limit, offset } = pageOf(query);
    const [items, total] = await this.media.list(
      {
        type: query.type,
        userId: query.userId,
        from: query.from === undefined ? undefined : new Date(query.from),
        to: query.to === undefined ? undefined : new Date(query.to),
      },
      limit,
      offset,
    );
    const admin = actsForTenant(this.context.principal);
    const origin = originOf(request);
    return {
      items: items.map((item) => MediaDto.from(item, this.media.signedUrl(item, origin), admin)),
      total,
      limit,
      offset,
    };
  }

  @Get('stats')
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({ summary: 'How many images and videos, and their bytes (the caller’s, or the tenant’s for admins)' })
  @ApiOkResponse({ type: MediaStatsDto })
  async stats(@Query() query: MediaStatsQuery): Promise<MediaStatsDto> {
    return MediaStatsDto.from(await this.media.totals({ userId: query.userId }));
  }

  @Get(':id')
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({ summary: 'One media item' })
  @ApiOkResponse({ type: MediaDto })
  @ApiNotFoundResponse({ description: 'MEDIA_NOT_FOUND (also for another user’s or tenant’s)' })
  async get(@Param('id', id) mediaId: string, @Req() request: FastifyRequest): Promise<MediaDto> {
    const item = await this.media.get(mediaId);
    return MediaDto.from(item, this.media.signedUrl(item, originOf(request)), actsForTenant(this.context.principal));
  }

  @Get(':id/content')
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({ summary: 'The bytes of a media item' })
  @ApiProduces('image/png', 'image/jpeg', 'image/webp', 'image/gif', 'video/mp4')
  @ApiOkResponse({ description: 'The bytes, with their content type' })
  @ApiNotFoundResponse({ description: 'MEDIA_NOT_FOUND' })
  async content(
    @Param('id', id) mediaId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    const { media, content } = await this.media.content(mediaId);
    return mediaFile(media, content, reply);
  }

  @Delete(':id')
  @HttpCode(204)
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({ summary: 'Delete a media item and its bytes (its owner, or a tenant admin)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ description: 'MEDIA_NOT_FOUND' })
  async remove(@Param('id', id) mediaId: string): Promise<void> {
    await this.media.remove(mediaId);
  }
}

/** Signed media links: the bytes of one item without credentials, until the link expires. */
@ApiTags('media')
@Controller('media')
export class MediaLinkController {
  constructor(private readonly media: MediaService) {}

  @Get(':id/file')
  @Public()
  @ApiOperation({ summary: 'The bytes of a media item through a signed link (an image’s `url`)' })
  @ApiProduces('image/png', 'image/jpeg', 'image/webp', 'image/gif', 'video/mp4')
  @ApiOkResponse({ description: 'The bytes, with their content type' })
  @ApiForbiddenResponse({ description: 'LINK_INVALID: a wrong signature or an expired link' })
  @ApiNotFoundResponse({ description: 'MEDIA_NOT_FOUND: deleted since the link was made' })
  async file(
    @Param('id', id) mediaId: string,
    @Query() query: SignedLinkQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    const { media, content } = await this.media.openLink(mediaId, {
      tenantId: query.tenant,
      expires: query.expires,
      signature: query.signature,
    });
    return mediaFile(media, content, reply);
  }
}
