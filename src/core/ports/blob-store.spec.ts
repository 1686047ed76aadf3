import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import S3rver from 's3rver';
import { type BlobContent, type BlobStore, BlobStoreError, FilesystemBlobStore, S3BlobStore } from './blob-store.js';

interface Adapter {
  name: string;
  open(): Promise<{ store: BlobStore; close(): Promise<void> }>;
}

async function readAll(content: BlobContent): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of content.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `data` in chunks of `chunkSize`, pausing `pauseMs` between them. */
function streamOf(data: Buffer, chunkSize = 64 * 1024, pauseMs = 0): Readable {
  return Readable.from(
    (async function* () {
      for (let offset = 0; offset < data.length; offset += chunkSize) {
        if (pauseMs) await sleep(pauseMs);
        yield data.subarray(offset, offset + chunkSize);
      }
    })(),
  );
}

const filesystem: Adapter = {
  name: 'the filesystem',
  async open() {
    const dataDir = await mkdtemp(join(tmpdir(), 'atrium-blobs-'));
    const store = await FilesystemBlobStore.open(dataDir);
    return { store, close: () => rm(dataDir, { recursive: true, force: true }) };
  },
};

/** A local S3-compatible server (s3rver) on 127.0.0.1 with a fresh bucket. */
const s3: Adapter = {
  name: 'S3 (a local S3-compatible server)',
  async open() {
    const directory = await mkdtemp(join(tmpdir(), 'atrium-s3rver-'));
    const server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      configureBuckets: [{ name: 'atrium-test', configs: [] }],
    });
    const { port } = (await server.run()) as AddressInfo;
    const store = S3BlobStore.fromSettings({
      bucket: 'atrium-test',
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      // s3rver's fixed credentials.
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
    });
    return {
      store,
      close: async () => {
        store.onApplicationShutdown();
        await server.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  },
};

describe.each([filesystem, s3])('BlobStore on $name', (adapter) => {
  let store: BlobStore;
  let close: () => Promise<void>;
  const unique = () => `t/${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    ({ store, close } = await adapter.open());
  });
  afterAll(() => close());

  it('stores a buffer and gives back the same bytes, size and content type', async () => {
    const key = `${unique()}/media/image.png`;
    const bytes = randomBytes(70_000);
    expect(await store.put(key, bytes, { contentType: 'image/png' })).toEqual({ key, size: 70_000 });
    expect(await store.exists(key)).toBe(true);
    const content = (await store.get(key))!;
    expect(content.size).toBe(70_000);
    expect(content.contentType).toBe('image/png');
    expect((await readAll(content)).equals(bytes)).toBe(true);
  });

  it('stores a stream of unknown length and counts it', async () => {
    const key = `${unique()}/doc.txt`;
    const text = Buffer.from('line\n'.repeat(30_000));
    expect(await store.put(key, streamOf(text, 1000), { contentType: 'text/plain; charset=utf-8' })).toEqual({
      key,
      size: text.length,
    });
    const content = (await store.get(key))!;
    expect(content.contentType).toBe('text/plain; charset=utf-8');
    expect((await readAll(content)).equals(text)).toBe(true);
  });

  it('streams a large body through without changing a byte', async () => {
    const key = `${unique()}/video.mp4`;
    const bytes = randomBytes(6 * 1024 * 1024 + 123);
    const stored = await store.put(key, streamOf(bytes), { contentType: 'video/mp4', size: bytes.length });
    expect(stored.size).toBe(bytes.length);
    const content = (await store.get(key))!;
    expect(content.size).toBe(bytes.length);
    expect((await readAll(content)).equals(bytes)).toBe(true);
  });

  it('replaces an object whole, content type included', async () => {
    const key = `${unique()}/avatar`;
    await store.put(key, Buffer.from('first version, longer'), { contentType: 'text/plain' });
    await store.put(key, Buffer.from('second'), { contentType: 'application/json' });
    const content = (await store.get(key))!;
    expect(content).toMatchObject({ size: 6, contentType: 'application/json' });
    expect((await readAll(content)).toString()).toBe('second');
  });

  it('shows readers the old bytes until a put has finished', async () => {
    const key = `${unique()}/report.pdf`;
    const before = Buffer.from('the old report');
    await store.put(key, before, { contentType: 'application/pdf' });
    const after = randomBytes(200_000);
    const writing = store.put(key, streamOf(after, 20_000, 5), { contentType: 'application/pdf' });
    await sleep(20);
    expect((await readAll((await store.get(key))!)).equals(before)).toBe(true);
    await writing;
    expect((await readAll((await store.get(key))!)).equals(after)).toBe(true);
  });

  it('answers null, false and nothing for a key that holds no object', async () => {
    const key = `${unique()}/missing.bin`;
    expect(await store.get(key)).toBeNull();
    expect(await store.exists(key)).toBe(false);
    await expect(store.delete(key)).resolves.toBeUndefined();
  });

  it('deletes an object', async () => {
    const key = `${unique()}/gone.bin`;
    await store.put(key, Buffer.from('x'), { contentType: 'application/octet-stream' });
    await store.delete(key);
    expect(await store.exists(key)).toBe(false);
    expect(await store.get(key)).toBeNull();
  });

  it('keeps an empty object', async () => {
    const key = `${unique()}/empty`;
    expect(await store.put(key, Buffer.alloc(0), { contentType: 'text/plain', size: 0 })).toEqual({ key, size: 0 });
    const content = (await store.get(key))!;
    expect(content.size).toBe(0);
    expect(await readAll(content)).toHaveLength(0);
  });

  it('refuses a body that is not the announced size and keeps what was there', async () => {
    const key = `${unique()}/sized.bin`;
    await store.put(key, Buffer.from('original'), { contentType: 'text/plain' });
    const attempts = [
      () => store.put(key, Buffer.from('four'), { contentType: 'text/plain', size: 5 }),
      () => store.put(key, streamOf(Buffer.from('too short')), { contentType: 'text/plain', size: 100 }),
      () => store.put(key, streamOf(randomBytes(300_000), 1000), { contentType: 'text/plain', size: 10 }),
    ];
    for (const attempt of attempts) {
      const error = await attempt().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(BlobStoreError);
      expect(error).toMatchObject({ reason: 'size_mismatch' });
    }
    expect((await readAll((await store.get(key))!)).toString()).toBe('original');
    const fresh = `${unique()}/never-stored.bin`;
    await expect(
      store.put(fresh, streamOf(Buffer.from('abc')), { contentType: 'text/plain', size: 4 }),
    ).rejects.toThrow(BlobStoreError);
    expect(await store.exists(fresh)).toBe(false);
  });

  it('accepts keys of the allowed characters', async () => {
    const longest = [
      'x'.repeat(200),
      'y'.repeat(200),
      'z'.repeat(200),
      'w'.repeat(200),
      'v'.repeat(200),
      'u'.repeat(19),
    ].join('/');
    expect(longest).toHaveLength(1024);
    for (const key of ['a', 'A-z_0.9/x', '.well-known/y', 'deep/er/and/deeper/file.tar.gz', longest]) {
      await store.put(key, Buffer.from(key), { contentType: 'text/plain' });
      expect((await readAll((await store.get(key))!)).toString()).toBe(key);
      await store.delete(key);
    }
  });

  it('refuses every other key in every method', async () => {
    const bad = ['', '/a', 'a/', 'a//b', '..', '../a', 'a/../b', 'a/./b', '.', 'a b', 'a\\b', 'é', 'a~b', 'a%2Fb'];
    bad.push('x'.repeat(201), `${'a/'.repeat(512)}b`, 'a\0b', 'a\nb');
    for (const key of bad) {
      await expect(store.put(key, Buffer.from('x'), { contentType: 'text/plain' })).rejects.toMatchObject({
        reason: 'invalid_key',
      });
      await expect(store.get(key)).rejects.toThrow(BlobStoreError);
      await expect(store.exists(key)).rejects.toThrow(BlobStoreError);
      await expect(store.delete(key)).rejects.toThrow(BlobStoreError);
    }
  });

  it('refuses a content type that is not a media type', async () => {
    for (const contentType of ['', 'png', 'text/plain\r\nX-Injected: 1', 'text/plain; name="é"']) {
      await expect(store.put(`${unique()}/x`, Buffer.from('x'), { contentType })).rejects.toMatchObject({
        reason: 'invalid_content_type',
      });
    }
  });
});

describe('FilesystemBlobStore', () => {
  it('keeps each object at its key under DATA_DIR/files, and no temporary file after a failed put', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'atrium-blobs-'));
    try {
      const store = await FilesystemBlobStore.open(dataDir);
      expect(store.root).toBe(join(dataDir, 'files'));
      await store.put('tenant/media/a.png', Buffer.from('png'), { contentType: 'image/png' });
      await store
        .put('tenant/media/b.png', streamOf(Buffer.from('abc')), { contentType: 'image/png', size: 9 })
        .catch(() => undefined);
      expect((await readdir(join(dataDir, 'files', 'tenant', 'media'))).sort()).toEqual(['a.png', 'a.png~meta.json']);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a key that is another key’s folder, or lies under another key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'atrium-blobs-'));
    try {
      const store = await FilesystemBlobStore.open(dataDir);
      await store.put('a/b', Buffer.from('x'), { contentType: 'text/plain' });
      await expect(store.put('a', Buffer.from('y'), { contentType: 'text/plain' })).rejects.toMatchObject({
        reason: 'key_conflict',
      });
      await expect(store.put('a/b/c', Buffer.from('y'), { contentType: 'text/plain' })).rejects.toMatchObject({
        reason: 'key_conflict',
      });
      expect(await store.exists('a')).toBe(false);
      expect(await store.get('a')).toBeNull();
      await store.delete('a');
      expect(await store.exists('a/b')).toBe(true);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('uses a temporary directory of its own for DATA_DIR=memory and removes it at shutdown', async () => {
    const store = await FilesystemBlobStore.open('memory');
    expect(store.root.startsWith(tmpdir())).toBe(true);
    await store.put('k', Buffer.from('x'), { contentType: 'text/plain' });
    await store.onApplicationShutdown();
    await expect(stat(store.root)).rejects.toThrow();
  });
});
