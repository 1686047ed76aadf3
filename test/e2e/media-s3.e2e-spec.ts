import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import S3rver from 's3rver';
import { BlobStore, S3BlobStore } from '../../src/core/ports/blob-store.js';
import { localImage } from '../../src/modules/gateway/local/local-models.js';
import { grant, newPlan, subscribe } from '../helpers/billing.js';
import { type Account, bearer, newTenant, newUser, type TenantFixture } from '../helpers/factories.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const engine = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite';
const BUCKET = 'atrium-media-e2e';
// s3rver accepts any request signed with these.
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

describe(`media on S3 (${engine})`, () => {
  let directory: string;
  let server: S3rver;
  let s3: S3Client;
  let t: TestApp;
  let origin: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'atrium-media-s3-'));
    server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory,
      configureBuckets: [{ name: BUCKET, configs: [] }],
    });
    const { port } = (await server.run()) as AddressInfo;
    const endpoint = `http://127.0.0.1:${port}`;
    // The test reads the bucket on its own client, so what it sees does not depend on the adapter under test.
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    t = await createTestApp({
      S3_BUCKET: BUCKET,
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    });
    // Signed links are fetched over real HTTP, without credentials.
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t?.close();
    s3?.destroy();
    await server?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  /** A tenant on a plan of its own (no rate limits), with credits and a member. */
  async function tenantWithMember(): Promise<{ tenant: TenantFixture; member: Account }> {
    const tenant = await newTenant(t);
    await subscribe(t, tenant, (await newPlan(t)).code);
    await grant(t, tenant, 10_000_000);
    return { tenant, member: await newUser(t, tenant, 'member') };
  }

  /** Two images in one request, as base64 with their media ids. */
  async function generateTwo(account: Account, prompt: string) {
    const res = await t.http({
      method: 'POST',
      url: '/api/v1/images/generations',
      headers: bearer(account.accessToken),
      payload: { model: 'local-image', prompt, n: 2, size: '128x64', response_format: 'b64_json' },
    });
    expect(res.statusCode).toBe(200);
    const data = res.json().data as { b64_json: string; media_id: string }[];
    expect(data).toHaveLength(2);
    return data.map((d) => ({ id: d.media_id, bytes: Buffer.from(d.b64_json, 'base64') }));
  }

  const get = (token: string, url: string) => t.http({ method: 'GET', url: `/api/v1${url}`, headers: bearer(token) });
  const remove = (token: string, url: string) =>
    t.http({ method: 'DELETE', url: `/api/v1${url}`, headers: bearer(token) });

  async function keysUnder(prefix: string): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key!).sort();
  }

  async function objectBytes(key: string): Promise<Buffer> {
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  /** The HTTP status S3 answers a HEAD of the key with (200, or 404 when there is no such object). */
  async function headStatus(key: string): Promise<number> {
    try {
      return (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).$metadata.httpStatusCode!;
    } catch (err) {
      return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
    }
  }

  it('uses the S3 adapter for media', () => {
    expect(t.app.get(BlobStore)).toBeInstanceOf(S3BlobStore);
  });

  it('puts each generated image in the bucket under <tenant>/media/<id>.png and serves the same bytes every way', async () => {
    const { tenant, member } = await tenantWithMember();
    const images = await generateTwo(member, 'a harbour in fog');
    const [first, second] = images;
    expect(first.bytes.equals(localImage('a harbour in fog\n#0', 128, 64))).toBe(true);
    expect(second.bytes.equals(localImage('a harbour in fog\n#1', 128, 64))).toBe(true);

    // Exactly the two objects, under the tenant's prefix, with the keys the rows name.
    const expectedKeys = images.map(({ id }) => `${tenant.id}/media/${id}.png`).sort();
    expect(await keysUnder(`${tenant.id}/`)).toEqual(expectedKeys);
    const rows: { id: string; blob_key: string; size_bytes: number | string; content_type: string }[] =
      await t.dataSource.query(`SELECT id, blob_key, size_bytes, content_type FROM media WHERE tenant_id = $1`, [
        tenant.id,
      ]);
    expect(rows.map((r) => r.blob_key).sort()).toEqual(expectedKeys);

    for (const image of images) {
      const key = `${tenant.id}/media/${image.id}.png`;
      const row = rows.find((r) => r.id === image.id)!;
      expect({ contentType: row.content_type, size: Number(row.size_bytes) }).toEqual({
        contentType: 'image/png',
        size: image.bytes.length,
      });

      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.ContentType).toBe('image/png');
      expect(head.ContentLength).toBe(image.bytes.length);
      expect((await objectBytes(key)).equals(image.bytes)).toBe(true);

      const content = await get(member.accessToken, `/media/${image.id}/content`);
      expect(content.statusCode).toBe(200);
      expect(content.headers['content-type']).toBe('image/png');
      expect(Number(content.headers['content-length'])).toBe(image.bytes.length);
      expect(content.rawPayload.equals(image.bytes)).toBe(true);

      // The item asked for over HTTP carries a link on this server's origin; it opens without credentials.
      const item = await fetch(`${origin}/api/v1/media/${image.id}`, { headers: bearer(member.accessToken) });
      expect(item.status).toBe(200);
      const { url } = (await item.json()) as { url: string };
      expect(url.startsWith(`${origin}/api/v1/media/${image.id}/file?`)).toBe(true);
      const linked = await fetch(url);
      expect(linked.status).toBe(200);
      expect(linked.headers.get('content-type')).toBe('image/png');
      expect(Buffer.from(await linked.arrayBuffer()).equals(image.bytes)).toBe(true);
    }

    // Another tenant's media stays in its own prefix and does not show up here.
    const { tenant: neighbour, member: neighbourMember } = await tenantWithMember();
    const theirs = await generateTwo(neighbourMember, 'a harbour in fog');
    expect(await keysUnder(`${neighbour.id}/`)).toEqual(
      theirs.map(({ id }) => `${neighbour.id}/media/${id}.png`).sort(),
    );
    expect(await keysUnder(`${tenant.id}/`)).toEqual(expectedKeys);
    // The same prompt makes the same pictures, yet each tenant has its own objects.
    expect((await objectBytes(`${neighbour.id}/media/${theirs[0].id}.png`)).equals(first.bytes)).toBe(true);
  });

  it('hides one tenant’s objects from another, and deletes the row and the object together', async () => {
    const { tenant, member } = await tenantWithMember();
    const [kept, doomed] = await generateTwo(member, 'a lantern');
    const keptKey = `${tenant.id}/media/${kept.id}.png`;
    const doomedKey = `${tenant.id}/media/${doomed.id}.png`;
    expect(await keysUnder(`${tenant.id}/`)).toEqual([keptKey, doomedKey].sort());

    const stranger = await newTenant(t);
    for (const url of [`/media/${doomed.id}`, `/media/${doomed.id}/content`]) {
      const res = await get(stranger.admin.accessToken, url);
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('MEDIA_NOT_FOUND');
    }
    expect((await get(stranger.admin.accessToken, '/media')).json().total).toBe(0);
    expect((await remove(stranger.admin.accessToken, `/media/${doomed.id}`)).statusCode).toBe(404);
    // The refused delete left both the row and the object.
    expect(await headStatus(doomedKey)).toBe(200);
    expect(await t.dataSource.query(`SELECT count(*)::int AS n FROM media WHERE id = $1`, [doomed.id])).toEqual([
      { n: 1 },
    ]);

    // A link made before the delete stops working once the item is gone.
    const item = await fetch(`${origin}/api/v1/media/${doomed.id}`, { headers: bearer(member.accessToken) });
    const { url } = (await item.json()) as { url: string };
    expect((await fetch(url)).status).toBe(200);

    expect((await remove(member.accessToken, `/media/${doomed.id}`)).statusCode).toBe(204);
    expect(await t.dataSource.query(`SELECT id FROM media WHERE tenant_id = $1`, [tenant.id])).toEqual([
      { id: kept.id },
    ]);
    expect(await headStatus(doomedKey)).toBe(404);
    expect(await keysUnder(`${tenant.id}/`)).toEqual([keptKey]);
    expect((await get(member.accessToken, `/media/${doomed.id}/content`)).statusCode).toBe(404);
    const stale = await fetch(url);
    expect(stale.status).toBe(404);
    expect(((await stale.json()) as { code: string }).code).toBe('MEDIA_NOT_FOUND');
    expect((await remove(member.accessToken, `/media/${doomed.id}`)).statusCode).toBe(404);

    // The other item is untouched, in the bucket and through the API.
    expect((await objectBytes(keptKey)).equals(kept.bytes)).toBe(true);
    expect((await get(member.accessToken, `/media/${kept.id}/content`)).rawPayload.equals(kept.bytes)).toBe(true);
    expect((await get(member.accessToken, '/media')).json().items.map((m: { id: string }) => m.id)).toEqual([kept.id]);
  });
});
