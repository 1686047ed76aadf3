import {
  Controller,
  Get,
  HttpCode,
  Ip,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Authenticated } from '../../core/auth/auth.decorators.js';
import { Permission } from '../../core/auth/permissions.js';
import { OpenAiErrors } from '../../core/errors/problem-details.filter.js';
import { JsonSchemaPipe } from '../../core/http/json-schema.pipe.js';
import { AcceptsUploads, readForm } from '../../core/http/uploads.js';
import { validationFailed } from '../../core/http/validation.pipe.js';
import { PageQuery, pageOf } from '../../core/http/pagination.js';
import { ActsInTenant } from '../../core/identity/tenant-selection.js';
import { requestOrigin } from '../billing/metering.service.js';
import { Metered } from '../billing/rate-limit.interceptor.js';
import { VIDEO_SCHEMA, type VideoBody, VideoDto, VideoListDto } from './dto/media.dto.js';
import { mediaFile } from './media.controller.js';
import { VideoService } from './video.service.js';

const id = new ParseUUIDPipe({ version: '4' });
/** A form's file part is refused; this only bounds how much of one is read first. */
const VIDEO_REFERENCE_MAX_BYTES = 1024 * 1024;

/** Video generation as jobs, in the shape of OpenAI's video API. */
@ApiTags('gateway')
@ActsInTenant()
@Controller('videos')
export class VideoController {
  private readonly schema = new JsonSchemaPipe<VideoBody>(VIDEO_SCHEMA);

  constructor(private readonly videos: VideoService) {}

  @Post()
  @OpenAiErrors()
  @HttpCode(202)
  @Metered()
  @AcceptsUploads()
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({
    summary: 'Start a video (a job): the `videos` quota counts when it completes, a failed job releases its hold',
  })
  @ApiBody({ schema: VIDEO_SCHEMA as object })
  @ApiAcceptedResponse({ type: VideoDto })
  @ApiTooManyRequestsResponse({ description: 'QUOTA_EXCEEDED (meter `videos`) or RATE_LIMITED' })
  async create(@Req() request: FastifyRequest, @Ip() ip: string): Promise<VideoDto> {
    // OpenAI's SDK sends a form (it may carry a reference image); JSON works too.
    let fields: unknown = request.body;
    if (request.isMultipart()) {
      const form = await readForm(request, VIDEO_REFERENCE_MAX_BYTES);
      if (form.file) {
        throw validationFailed([{ field: form.file.fieldName, messages: ['reference images are not supported'] }]);
      }
      fields = form.fields;
    }
    const body = this.schema.transform(fields);
    const job = await this.videos.create(
      { ...body, seconds: body.seconds === undefined ? undefined : Number(body.seconds) },
      requestOrigin(request, ip),
    );
    return VideoDto.from(job);
  }

  @Get()
  @OpenAiErrors()
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({ summary: 'Video jobs, newest first (members: their own; tenant admins: the tenant’s)' })
  @ApiOkResponse({ type: VideoListDto })
  async list(@Query() query: PageQuery): Promise<VideoListDto> {
    const { limit, offset } = pageOf(query);
    const [jobs, total] = await this.videos.list(limit, offset);
    return { object: 'list', data: jobs.map(VideoDto.from), total, has_more: offset + jobs.length < total };
  }

  @Get(':id')
  @OpenAiErrors()
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({ summary: 'A video job: status and progress' })
  @ApiOkResponse({ type: VideoDto })
  @ApiNotFoundResponse({ description: 'VIDEO_NOT_FOUND (also for another user’s or tenant’s)' })
  async get(@Param('id', id) videoId: string): Promise<VideoDto> {
    return VideoDto.from(await this.videos.get(videoId));
  }

  @Get(':id/content')
  @OpenAiErrors()
  @Authenticated({ permission: Permission.GENERATION_USE })
  @ApiOperation({ summary: 'The finished video’s bytes' })
  @ApiProduces('video/mp4', 'image/gif')
  @ApiOkResponse({ description: 'The bytes, with their content type' })
  @ApiNotFoundResponse({ description: 'VIDEO_NOT_FOUND' })
  @ApiConflictResponse({ description: 'VIDEO_NOT_READY: not completed (yet)' })
  async content(
    @Param('id', id) videoId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    const { media, content } = await this.videos.content(videoId);
    return mediaFile(media, content, reply);
  }
}
