import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import S3rver from 's3rver';
import { BlobStore, FilesystemBlobStore, S3BlobStore } from '../../src/core/ports/blob-store.js';
import { BullMqJobQueue, JobQueue, TableJobQueue } from '../../src/core/ports/job-queue.js';
import { AesGcmSecretBox, SecretBox } from '../../src/core/ports/secret-box.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

async function readAll(body: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString();
}

describe('ports chosen from the configuration', () => {
  it('uses SECRETS_KEY, local files, and the job queue REDIS_URL selects', async () => {
    const key = randomBytes(32);
    const t = await createTestApp({ SECRETS_KEY: key.toString('hex') });
    try {
      const sealed = t.app.get(SecretBox).seal('sk-provider-key');
      expect(new AesGcmSecretBox(key).open(sealed)).toBe('sk-provider-key');

      const blobs = t.app.get(BlobStore);
      expect(blobs).toBeInstanceOf(FilesystemBlobStore);
      await blobs.put('tenant/doc.txt', Buffer.from('hello'), { contentType: 'text/plain' });
      expect(await readAll((await blobs.get('tenant/doc.txt'))!.body)).toBe('hello');

      expect(t.app.get(JobQueue)).toBeInstanceOf(process.env.REDIS_URL ? BullMqJobQueue : TableJobQueue);
    } finally {
      await t.close();
    }
  });

  describe('with S3 settings', () => {
    let server: S3rver;
    let directory: string;
    let endpoint: string;
    let t: TestApp;

    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), 'atrium-s3rver-'));
      server = new S3rver({
        address: '127.0.0.1',
        port: 0,
        silent: true,
        directory,
        configureBuckets: [{ name: 'atrium-media', configs: [] }],
      });
      const { port } = (await server.run()) as AddressInfo;
      endpoint = `http://127.0.0.1:${port}`;
      t = await createTestApp({
        S3_BUCKET: 'atrium-media',
        S3_ENDPOINT: endpoint,
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
      });
    });
    afterAll(async () => {
      await t.close();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    });

    it('keeps files in the bucket', async () => {
      const blobs = t.app.get(BlobStore);
      expect(blobs).toBeInstanceOf(S3BlobStore);
      await blobs.put('tenant/media/a.json', Buffer.from('{"ok":true}'), { contentType: 'application/json' });
      const content = (await blobs.get('tenant/media/a.json'))!;
      expect(content.contentType).toBe('application/json');
      expect(await readAll(content.body)).toBe('{"ok":true}');
      const bucket = S3BlobStore.fromSettings({
        bucket: 'atrium-media',
        endpoint,
        region: 'us-east-1',
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        forcePathStyle: true,
      });
      try {
        expect(await bucket.exists('tenant/media/a.json')).toBe(true);
      } finally {
        bucket.onApplicationShutdown();
      }
    });
  });
});
