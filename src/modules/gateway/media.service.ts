import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { actsForTenant, mayActFor } from '../../core/context/principal.js';
import { RequestContext } from '../../core/context/request-context.js';
import { AuthError, AuthErrorCode } from '../../core/identity/auth.errors.js';
import { UsersRepository } from '../../core/identity/users.repository.js';
import { type BlobContent, BlobStore } from '../../core/ports/blob-store.js';
import { Clock } from '../../core/ports/clock.js';
import { SecretBox } from '../../core/ports/secret-box.js';
import type { RequestOrigin } from '../billing/metering.service.js';
import type { Media, MediaType } from './entities/media.entity.js';
import { GatewayError, GatewayErrorCode } from './gateway.errors.js';
import { type MediaFilter, type MediaListed, MediaRepository, type MediaTotals } from './media.repository.js';

export interface NewMedia {
  type: MediaType;
  model: string;
  prompt: string;
  bytes: Buffer;
  contentType: string;
  width?: number;
  height?: number;
  seconds?: number;
  /** The person it is made for; the caller (or nobody, for the tenant key) when absent. */
  userId?: string | null;
  apiKeyId?: string | null;
  origin: RequestOrigin;
}

export interface SignedLink {
  tenantId: string;
  expires: number;
  signature: string;
}

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
};

const mediaNotFound = () => new GatewayError(GatewayErrorCode.MEDIA_NOT_FOUND, 'Media not found.');

/**
 * Generated media: the bytes in the blob store under the tenant's prefix, a
 * row per item. Members see their own media; tenant admins and the tenant key
 * see the tenant's. A signed link opens one item's bytes without credentials
 * until it expires.
 */
@Injectable()
export class MediaService {
  private readonly logger = new Logger('Media');

  constructor(
    private readonly media: MediaRepository,
    private readonly users: UsersRepository,
    private readonly blobs: BlobStore,
    private readonly secrets: SecretBox,
    private readonly context: RequestContext,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Stores the bytes, then the row; the bytes are removed again when the row cannot be written. */
  async store(item: NewMedia): Promise<Media> {
    const id = randomUUID();
    const blobKey = `${this.context.tenantId}/media/${id}.${EXTENSIONS[item.contentType] ?? 'bin'}`;
    await this.blobs.put(blobKey, item.bytes, { contentType: item.contentType, size: item.bytes.length });
    const principal = this.context.principal;
    try {
      return await this.media.record({
        id,
        userId: item.userId !== undefined ? item.userId : (principal.userId ?? null),
        apiKeyId: item.apiKeyId !== undefined ? item.apiKeyId : (principal.apiKeyId ?? null),
        type: item.type,
        model: item.model,
        prompt: item.prompt,
        contentType: item.contentType,
        sizeBytes: item.bytes.length,
        width: item.width ?? null,
        height: item.height ?? null,
        seconds: item.seconds ?? null,
        blobKey,
        clientIp: item.origin.clientIp,
        requestId: item.origin.requestId,
      });
    } catch (err) {
      await this.discard({ blobKey });
      throw err;
    }
  }

  /** Removes the stored bytes of an item whose row was never written or was rolled back (it was never seen). */
  async discard(item: Pick<Media, 'blobKey'>): Promise<void> {
    await this.blobs.delete(item.blobKey).catch((err: unknown) => {
      this.logger.warn(`Could not remove ${item.blobKey}: ${(err as Error).message}`);
    });
  }

  /** A page of the media the caller may see, newest first. */
  async list(filter: MediaFilter, limit: number, offset: number): Promise<[MediaListed[], number]> {
    return this.media.list(await this.visibleTo(filter), limit, offset);
  }

  async totals(filter: MediaFilter): Promise<MediaTotals[]> {
    return this.media.totals(await this.visibleTo(filter));
  }

  /** One item the caller may see (another user's, to a member, or another tenant's: not found). */
  async get(id: string): Promise<Media> {
    const item = await this.media.findById(id);
    if (!item || !mayActFor(this.context.principal, item.userId)) throw mediaNotFound();
    return item;
  }

  async content(id: string): Promise<{ media: Media; content: BlobContent }> {
    const media = await this.get(id);
    return { media, content: await this.bytesOf(media) };
  }

  /** Deletes an item (its owner, or a tenant admin): the row first, so a failure cannot leave a row without bytes. */
  async remove(id: string): Promise<void> {
    const item = await this.get(id);
    if (!(await this.media.remove(item.id))) throw mediaNotFound();
    await this.blobs.delete(item.blobKey);
  }

  /** A link to the item's bytes that works without credentials until it expires. */
  signedUrl(media: Pick<Media, 'id'>, origin: string): string {
    const expires = Math.floor(this.clock.now().getTime() / 1000) + this.config.gateway.mediaUrlTtlSeconds;
    const tenantId = this.context.tenantId;
    const signature = this.secrets.sign(linkMessage(tenantId, media.id, expires));
    const base = this.config.gateway.publicUrl ?? origin;
    return `${base}/api/v1/media/${media.id}/file?tenant=${tenantId}&expires=${expires}&signature=${signature}`;
  }

  /** The bytes a signed link names, when its signature holds and it has not expired. */
  async openLink(id: string, link: SignedLink): Promise<{ media: Media; content: BlobContent }> {
    const valid =
      link.expires * 1000 > this.clock.now().getTime() &&
      this.secrets.verify(linkMessage(link.tenantId, id, link.expires), link.signature);
    if (!valid) throw new GatewayError(GatewayErrorCode.LINK_INVALID, 'The link is invalid or has expired.');
    return this.context.runInTenantContext(
      link.tenantId,
      async () => {
        const media = await this.media.findById(id);
        if (!media) throw mediaNotFound();
        return { media, content: await this.bytesOf(media) };
      },
      'signed-link',
    );
  }

  private async bytesOf(media: Media): Promise<BlobContent> {
    const content = await this.blobs.get(media.blobKey);
    if (!content) throw mediaNotFound();
    return content;
  }

  /** Members are held to their own media; the tenant's admins and app see all of it. */
  private async visibleTo(filter: MediaFilter): Promise<MediaFilter> {
    const principal = this.context.principal;
    if (actsForTenant(principal)) {
      if (filter.userId !== undefined && !(await this.users.findById(filter.userId))) {
        throw new GatewayError(GatewayErrorCode.USER_NOT_FOUND, 'User not found.');
      }
      return filter;
    }
    if (principal.userId === undefined || (filter.userId !== undefined && filter.userId !== principal.userId)) {
      throw new AuthError(AuthErrorCode.PERMISSION_DENIED, "Only tenant admins may see other users' media.");
    }
    return { ...filter, userId: principal.userId };
  }
}

const linkMessage = (tenantId: string, id: string, expires: number) => `media:${tenantId}/${id}:${expires}`;
