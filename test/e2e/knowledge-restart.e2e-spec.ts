import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { grant, newPlan, subscribe } from '../helpers/billing.js';
import { eventually } from '../helpers/concurrency.js';
import { bearer, newTenant, newUser } from '../helpers/factories.js';
import { type FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai.js';
import { upstreamRoute } from '../helpers/gateway.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { cloneSharedTemplateDatabase, postgresUrl, type TestDatabase } from '../helpers/test-database.js';

const engine = postgresUrl() ? 'PostgreSQL' : 'PGlite';
const queue = process.env.REDIS_URL ? 'BullMQ' : 'jobs table';
/** Two apps boot one after the other, which on a busy machine takes longer than Jest's default allows. */
const TEST_TIMEOUT_MS = 90_000;
// One SECRETS_KEY for both, as production requires: the second opens the provider key the first sealed.
const ENV = { SECRETS_KEY: 'cd'.repeat(32), GATEWAY_TIMEOUT_MS: '1000', JOB_POLL_INTERVAL_MS: '50' };

/** A document whose processing was cut short by a stopped instance is processed by the next one. */
describe(`knowledge processing across a restart (${engine}, ${queue})`, () => {
  let database: TestDatabase;
  let fake: FakeOpenAI;
  let first: TestApp | undefined;
  let second: TestApp | undefined;
  // Both instances keep files in one DATA_DIR, as instances share a volume or a bucket.
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await cloneSharedTemplateDatabase();
    fake = await startFakeOpenAI();
    env = { ...ENV, DATA_DIR: await mkdtemp(join(tmpdir(), 'atrium-kb-restart-')) };
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await database?.drop();
    await fake?.close();
    if (env) await rm(env.DATA_DIR, { recursive: true, force: true });
  });

  it(
    'finishes on the next instance a document the stopped one could not embed',
    async () => {
      first = await createTestApp(env, [], { database });
      const i1 = first;
      const alias = await upstreamRoute(i1, fake.url, { task: 'embedding', model: 'fake-embedding' });
      const tenant = await newTenant(i1);
      await subscribe(i1, tenant, (await newPlan(i1)).code);
      await grant(i1, tenant, 10_000_000);
      const member = await newUser(i1, tenant, 'member');
      const token = bearer(member.accessToken);
      const base = await i1.http({
        method: 'POST',
        url: '/api/v1/knowledge/bases',
        headers: token,
        payload: { name: 'Manuals', settings: { embeddingModel: alias } },
      });
      expect(base.statusCode).toBe(201);

      // The upstream hangs while the first instance runs: the embedding times out and the job waits to be retried.
      fake.behaveAll({ kind: 'hang' });
      const added = await i1.http({
        method: 'POST',
        url: `/api/v1/knowledge/bases/${base.json().id}/documents`,
        headers: token,
        payload: { title: 'Pump manual', text: 'Prime the pump before the first start. Check the seal monthly.' },
      });
      expect(added.statusCode).toBe(201);
      const id: string = added.json().id;
      await eventually(
        `document ${id} tried`,
        async () => (fake.requests.some((r) => r.path === '/v1/embeddings') ? true : undefined),
        { withinMs: 10_000, everyMs: 20 },
      );
      const [stopped] = await i1.dataSource.query(`SELECT status FROM kb_documents WHERE tenant_id = $1 AND id = $2`, [
        tenant.id,
        id,
      ]);
      expect(['queued', 'processing']).toContain(stopped.status);
      await first.close();
      first = undefined;

      fake.reset();
      second = await createTestApp(env, [], { database });
      const i2 = second;
      const done = await eventually(
        `document ${id} processed on the second instance`,
        async () => {
          const document = (
            await i2.http({ method: 'GET', url: `/api/v1/knowledge/documents/${id}`, headers: token })
          ).json();
          return document.status === 'ready' || document.status === 'failed' ? document : undefined;
        },
        { withinMs: 30_000, everyMs: 50 },
      );
      expect(done).toMatchObject({ status: 'ready', error: null, chunkCount: 1 });
      const [chunk] = await i2.dataSource.query(
        `SELECT embedding IS NOT NULL AS embedded FROM kb_chunks WHERE tenant_id = $1 AND document_id = $2`,
        [tenant.id, id],
      );
      expect(chunk).toEqual({ embedded: true });
      const hits = (
        await i2.http({
          method: 'POST',
          url: '/api/v1/knowledge/search',
          headers: token,
          payload: { query: 'pump seal', mode: 'vector' },
        })
      ).json().results;
      expect(hits[0]).toMatchObject({ documentId: id });
    },
    TEST_TIMEOUT_MS,
  );
});
