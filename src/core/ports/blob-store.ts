import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { OnApplicationShutdown } from '@nestjs/common';
import { type AppConfig, dataPath } from '../../config/app-config.js';

export interface PutBlobOptions {
  contentType: string;
  /** The expected length in bytes: a body of another length is refused and nothing is stored. */
  size?: number;
}

export interface StoredBlob {
  key: string;
  size: number;
}

export interface BlobContent {
  /** The bytes, streamed: read it to the end or destroy it, or the file handle or connection stays open. */
  body: Readable;
  size: number;
  contentType: string;
}

/**
 * The blob-store port: media and documents by key. Keys are opaque to the
 * store, made of [A-Za-z0-9/_.-] with no empty, `.` or `..` segments, at most
 * 1024 characters with segments of at most 200, the same for every adapter (callers put the tenant first, e.g. `<tenant>/media/<id>.png`). A put replaces the
 * whole object at once: a reader sees the old bytes or the new ones, never a
 * part. Deleting a missing key is not an error.
 */
export abstract class BlobStore {
  abstract put(key: string, body: Buffer | Readable, options: PutBlobOptions): Promise<StoredBlob>;
  /** The object, or null when there is none under `key`. */
  abstract get(key: string): Promise<BlobContent | null>;
  abstract delete(key: string): Promise<void>;
  abstract exists(key: string): Promise<boolean>;
}

export type BlobStoreErrorReason = 'invalid_key' | 'invalid_content_type' | 'size_mismatch' | 'key_conflict';

/** A put or lookup the store refuses; nothing was stored. */
export class BlobStoreError extends Error {
  constructor(
    readonly reason: BlobStoreErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'BlobStoreError';
  }
}

const KEY = /^[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;
/** S3's limit on keys, and room below the filesystems' 255 per name for the store's own suffixes. */
const MAX_KEY_LENGTH = 1024;
const MAX_SEGMENT_LENGTH = 200;
/** A media type as sent in Content-Type: printable ASCII, no line breaks. */
const CONTENT_TYPE = /^[\w.+-]+\/[\w.+-]+(?:\s*;[\x20-\x7e]*)?$/;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export function assertBlobKey(key: string): void {
  const valid =
    typeof key === 'string' &&
    key.length <= MAX_KEY_LENGTH &&
    KEY.test(key) &&
    key.split('/').every((segment) => segment !== '.' && segment !== '..' && segment.length <= MAX_SEGMENT_LENGTH);
  if (!valid) {
    throw new BlobStoreError(
      'invalid_key',
      `Invalid blob key ${JSON.stringify(String(key).slice(0, 100))}: use [A-Za-z0-9/_.-], no empty, "." or ".." segments, segments of at most ${MAX_SEGMENT_LENGTH} and keys of at most ${MAX_KEY_LENGTH} characters`,
    );
  }
}

/** Refuses a bad key or content type, and a Buffer body whose length is not the announced size. */
function assertPut(key: string, body: Buffer | Readable, options: PutBlobOptions): void {
  assertBlobKey(key);
  if (
    typeof options.contentType !== 'string' ||
    options.contentType.length > 255 ||
    !CONTENT_TYPE.test(options.contentType)
  ) {
    throw new BlobStoreError('invalid_content_type', `Invalid content type ${JSON.stringify(options.contentType)}`);
  }
  if (options.size !== undefined && !(Number.isSafeInteger(options.size) && options.size >= 0)) {
    throw new BlobStoreError('size_mismatch', `Invalid size ${options.size}`);
  }
  if (Buffer.isBuffer(body) && options.size !== undefined && body.length !== options.size) {
    throw sizeMismatch(options.size, String(body.length));
  }
}

function sizeMismatch(expected: number, actual: string): BlobStoreError {
  return new BlobStoreError('size_mismatch', `The body is ${actual} bytes, not the ${expected} announced`);
}

/** The body's chunks as Buffers, failing as soon as it turns out longer or shorter than `expected`. */
async function* checkedChunks(body: Readable, expected: number | undefined, seen: { bytes: number }) {
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    seen.bytes += buffer.length;
    if (expected !== undefined && seen.bytes > expected) throw sizeMismatch(expected, `more than ${expected}`);
    yield buffer;
  }
  if (expected !== undefined && seen.bytes !== expected) throw sizeMismatch(expected, String(seen.bytes));
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Suffixes of the store's own files: keys cannot contain `~`, so these never collide with a key. */
const META_SUFFIX = '~meta.json';
const TEMP_MARK = '~tmp-';

/**
 * Blobs as files under DATA_DIR/files (a per-process temporary directory for
 * DATA_DIR=memory), one file per key at the key's path, with its content type
 * in a `<file>~meta.json` beside it. Writes go to a temporary file that is
 * flushed and then renamed over the target, so they are atomic. A key cannot
 * also be a folder of other keys here (`a` and `a/b`): such a put is refused.
 */
export class FilesystemBlobStore extends BlobStore implements OnApplicationShutdown {
  private constructor(
    readonly root: string,
    private readonly temporary: boolean,
  ) {
    super();
  }

  static async open(dataDir: string): Promise<FilesystemBlobStore> {
    const root = dataPath(dataDir, 'files');
    if (!root) return new FilesystemBlobStore(await mkdtemp(join(tmpdir(), 'atrium-files-')), true);
    await mkdir(root, { recursive: true });
    return new FilesystemBlobStore(root, false);
  }

  async put(key: string, body: Buffer | Readable, options: PutBlobOptions): Promise<StoredBlob> {
    assertPut(key, body, options);
    const file = this.pathOf(key);
    const conflict = () =>
      new BlobStoreError('key_conflict', `The key ${key} is, or lies under, the path of another key`);
    try {
      await mkdir(dirname(file), { recursive: true });
    } catch (err) {
      if (['ENOTDIR', 'EEXIST'].includes(errorCode(err) ?? '')) throw conflict();
      throw err;
    }
    if ((await stat(file).catch(() => null))?.isDirectory()) throw conflict();
    const temp = `${file}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
    try {
      const size = await this.writeDurably(temp, body, options.size);
      await writeFile(`${temp}${META_SUFFIX}`, JSON.stringify({ contentType: options.contentType }));
      // Metadata first: a blob file that can be seen always has its content type beside it.
      await rename(`${temp}${META_SUFFIX}`, `${file}${META_SUFFIX}`);
      await rename(temp, file);
      return { key, size };
    } catch (err) {
      await Promise.all([rm(temp, { force: true }), rm(`${temp}${META_SUFFIX}`, { force: true })]);
      if (errorCode(err) === 'EISDIR') throw conflict();
      throw err;
    }
  }

  async get(key: string): Promise<BlobContent | null> {
    assertBlobKey(key);
    const file = this.pathOf(key);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes(errorCode(err) ?? '')) return null;
      throw err;
    }
    try {
      // The size and the bytes come from one open file, even if a put replaces it meanwhile.
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close();
        return null;
      }
      const contentType = await this.contentTypeOf(file);
      return { body: handle.createReadStream(), size: info.size, contentType };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    const file = this.pathOf(key);
    if (!(await this.isFile(file))) return;
    await unlink(file).catch((err: unknown) => {
      if (errorCode(err) !== 'ENOENT') throw err;
    });
    await rm(`${file}${META_SUFFIX}`, { force: true });
  }

  async exists(key: string): Promise<boolean> {
    assertBlobKey(key);
    return this.isFile(this.pathOf(key));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.temporary) await rm(this.root, { recursive: true, force: true });
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  private async isFile(file: string): Promise<boolean> {
    try {
      return (await stat(file)).isFile();
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes(errorCode(err) ?? '')) return false;
      throw err;
    }
  }

  private async contentTypeOf(file: string): Promise<string> {
    try {
      const meta = JSON.parse(await readFile(`${file}${META_SUFFIX}`, 'utf8')) as { contentType?: unknown };
      return typeof meta.contentType === 'string' ? meta.contentType : DEFAULT_CONTENT_TYPE;
    } catch {
      return DEFAULT_CONTENT_TYPE;
    }
  }

  /** Writes the body to a new file and flushes it to disk; returns its length. */
  private async writeDurably(path: string, body: Buffer | Readable, expected?: number): Promise<number> {
    const handle = await open(path, 'wx');
    try {
      if (Buffer.isBuffer(body)) {
        await handle.writeFile(body);
        await handle.sync();
        return body.length;
      }
      const seen = { bytes: 0 };
      for await (const chunk of checkedChunks(body, expected, seen)) await handle.write(chunk);
      await handle.sync();
      return seen.bytes;
    } finally {
      await handle.close();
    }
  }
}

export type S3Settings = NonNullable<AppConfig['storage']['s3']>;

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

/**
 * Blobs in an S3 bucket, or on an S3-compatible server (MinIO, R2, ...) when an
 * endpoint is set. Buffers go up in one PutObject; streams through the SDK's
 * managed upload (one PutObject when small, a multipart upload otherwise), so a
 * stream of unknown length never has to be held in memory whole.
 */
export class S3BlobStore extends BlobStore implements OnApplicationShutdown {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {
    super();
  }

  static fromSettings(settings: S3Settings): S3BlobStore {
    const client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      // Many S3-compatible servers reject the SDK's default flexible checksums; send them only where S3 requires one.
      ...(settings.endpoint
        ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
        : {}),
    });
    return new S3BlobStore(client, settings.bucket);
  }

  async put(key: string, body: Buffer | Readable, options: PutBlobOptions): Promise<StoredBlob> {
    assertPut(key, body, options);
    if (Buffer.isBuffer(body)) {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType,
          ContentLength: body.length,
        }),
      );
      return { key, size: body.length };
    }
    const seen = { bytes: 0 };
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: Readable.from(checkedChunks(body, options.size, seen)),
        ContentType: options.contentType,
      },
    });
    await upload.done();
    return { key, size: seen.bytes };
  }

  async get(key: string): Promise<BlobContent | null> {
    assertBlobKey(key);
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return {
        body: object.Body as Readable,
        size: object.ContentLength ?? 0,
        contentType: object.ContentType ?? DEFAULT_CONTENT_TYPE,
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async exists(key: string): Promise<boolean> {
    assertBlobKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  onApplicationShutdown(): void {
    this.client.destroy();
  }
}
