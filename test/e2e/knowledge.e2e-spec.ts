import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { newPlan, subscribe } from '../helpers/billing.js';
import { eventually, parallel } from '../helpers/concurrency.js';
import {
  type Account,
  bearer,
  newTenant,
  newUser,
  personalKey,
  type TenantFixture,
  tenantKey,
} from '../helpers/factories.js';
import { docxFixture, pdfFixture } from '../helpers/kb-fixtures.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const engine = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite';

/** A small labelled corpus: each query's relevant document is named. */
const CORPUS = [
  {
    title: 'Volcanoes',
    text: 'A volcano is an opening in the crust where magma, ash and gases escape. Lava flows from eruptions cool into basalt rock.',
  },
  {
    title: 'Sourdough',
    text: 'Sourdough bread rises with a starter of wild yeast and lactic bacteria. Knead the dough, let it proof overnight, then bake it hot.',
  },
  {
    title: 'Tides',
    text: 'Ocean tides follow the pull of the moon and the sun. Spring tides come at new and full moon; neap tides at the quarters.',
  },
  {
    title: 'Chess openings',
    text: 'The Sicilian Defence answers e4 with c5. The Queen’s Gambit offers a pawn on c4 for control of the centre.',
  },
  {
    title: 'Bee colonies',
    text: 'A honey bee colony has one queen, thousands of workers and some drones. Workers gather nectar and pollen and build wax comb.',
  },
];
const QUERIES: [string, string][] = [
  ['magma eruption lava', 'Volcanoes'],
  ['how to bake bread with wild yeast starter', 'Sourdough'],
  ['moon pull on the ocean', 'Tides'],
  ['Sicilian Defence', 'Chess openings'],
  ['honey bee workers nectar', 'Bee colonies'],
];

describe(`knowledge bases (${engine})`, () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ JOB_POLL_INTERVAL_MS: '50', KB_MAX_FILE_BYTES: '65536' });
  });
  afterAll(() => t.close());

  const call = (token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    t.http({ method, url: `/api/v1/knowledge${url}`, headers: bearer(token), ...(payload && { payload }) });

  async function tenantOn(quotas: object[] = []): Promise<{ tenant: TenantFixture; member: Account }> {
    const tenant = await newTenant(t);
    await subscribe(t, tenant, (await newPlan(t, { quotas: quotas as never })).code);
    return { tenant, member: await newUser(t, tenant, 'member') };
  }

  async function base(token: string, settings: object = { embeddingModel: 'local-embedding' }) {
    const res = await call(token, 'POST', '/bases', { name: 'Handbook', description: 'Facts', settings });
    expect(res.statusCode).toBe(201);
    return res.json().id as string;
  }

  const ready = (token: string, documentId: string) =>
    eventually(
      `document ${documentId} processed`,
      async () => {
        const document = (await call(token, 'GET', `/documents/${documentId}`)).json();
        return ['ready', 'failed'].includes(document.status) ? document : undefined;
      },
      { withinMs: 20_000, everyMs: 50 },
    );

  async function addCorpus(token: string, baseId: string, metadata: (i: number) => object = () => ({})) {
    const ids: Record<string, string> = {};
    for (const [i, doc] of CORPUS.entries()) {
      const res = await call(token, 'POST', `/bases/${baseId}/documents`, { ...doc, metadata: metadata(i) });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ status: 'queued', format: 'text' });
      ids[doc.title] = res.json().id;
    }
    for (const id of Object.values(ids)) expect((await ready(token, id)).status).toBe('ready');
    return ids;
  }

  it('processes text into chunks and finds the relevant document first in keyword, vector and hybrid search', async () => {
    const { tenant, member } = await tenantOn();
    const baseId = await base(member.accessToken);
    const ids = await addCorpus(member.accessToken, baseId, (i) => ({ topic: CORPUS[i].title, even: i % 2 === 0 }));

    const document = (await call(member.accessToken, 'GET', `/documents/${ids.Tides}`)).json();
    expect(document).toMatchObject({ status: 'ready', error: null, chunkCount: 1 });
    expect(document.tokenCount).toBeGreaterThan(10);
    const [chunk] = await t.dataSource.query(
      `SELECT text, tokens, embedding IS NOT NULL AS embedded FROM kb_chunks WHERE tenant_id = $1 AND document_id = $2`,
      [tenant.id, ids.Tides],
    );
    expect(chunk).toMatchObject({ text: CORPUS[2].text, tokens: document.tokenCount, embedded: true });

    for (const mode of ['keyword', 'vector', 'hybrid'] as const) {
      for (const [query, expected] of QUERIES) {
        const res = await call(member.accessToken, 'POST', '/search', { query, mode, topK: 3 });
        expect(res.statusCode).toBe(200);
        const body = res.json();
        expect({ mode, query, first: body.results[0]?.documentTitle }).toEqual({ mode, query, first: expected });
        expect(body.results[0]).toMatchObject({ knowledgeBaseId: baseId, documentId: ids[expected] });
      }
    }
    // Default mode with embeddings is hybrid; metadata filters by equality; minScore drops weak hits.
    const filtered = (
      await call(member.accessToken, 'POST', '/search', { query: 'moon ocean bread', filter: { even: true }, topK: 10 })
    ).json();
    expect(filtered.mode).toBe('hybrid');
    expect(filtered.results.every((r: { metadata: { even: boolean } }) => r.metadata.even)).toBe(true);
    expect(filtered.results.map((r: { documentTitle: string }) => r.documentTitle)).toContain('Tides');
    const strict = (
      await call(member.accessToken, 'POST', '/search', { query: 'magma', mode: 'vector', minScore: 0.99 })
    ).json();
    expect(strict.results).toEqual([]);

    // With pgvector (PGlite always has it) the vectors' size got its HNSW index.
    const [{ pgvector }] = await t.dataSource.query(
      `SELECT count(*)::int AS pgvector FROM pg_extension WHERE extname = 'vector'`,
    );
    const indexes = await t.dataSource.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'kb_chunks'`);
    expect(indexes.map((i: { indexname: string }) => i.indexname).includes('ix_kb_chunks_hnsw_256')).toBe(
      pgvector === 1,
    );
    if (!process.env.TEST_DATABASE_URL) expect(pgvector).toBe(1);

    // Embeddings went through the gateway, metered as embedding_tokens of the tenant.
    const [{ tokens }] = await t.dataSource.query(
      `SELECT coalesce(sum(quantity), 0)::int AS tokens FROM usage_events WHERE tenant_id = $1 AND meter = 'embedding_tokens'`,
      [tenant.id],
    );
    expect(tokens).toBeGreaterThan(0);
    const stats = (await call(member.accessToken, 'GET', `/bases/${baseId}/statistics`)).json();
    expect(stats).toMatchObject({
      documentsByStatus: { queued: 0, processing: 0, ready: 5, failed: 0 },
      documents: 5,
      chunks: 5,
      searches: 17,
    });
    expect(stats.bytes).toBe(CORPUS.reduce((sum, d) => sum + Buffer.byteLength(d.text), 0));
  });

  it('keeps two tenants with identical documents apart in every mode', async () => {
    const one = await tenantOn();
    const two = await tenantOn();
    const baseOne = await base(one.member.accessToken);
    const baseTwo = await base(two.member.accessToken);
    const idsOne = await addCorpus(one.member.accessToken, baseOne);
    const idsTwo = await addCorpus(two.member.accessToken, baseTwo);
    for (const mode of ['keyword', 'vector', 'hybrid']) {
      const hits = (
        await call(one.member.accessToken, 'POST', '/search', { query: 'moon tides bread', mode, topK: 50 })
      ).json().results as { documentId: string; knowledgeBaseId: string }[];
      expect(hits.length).toBeGreaterThan(0);
      expect(hits.every((h) => h.knowledgeBaseId === baseOne && Object.values(idsOne).includes(h.documentId))).toBe(
        true,
      );
    }
    // Another tenant's base or document answers 404 everywhere.
    const token = one.member.accessToken;
    for (const [method, url] of [
      ['GET', `/bases/${baseTwo}`],
      ['GET', `/bases/${baseTwo}/documents`],
      ['GET', `/bases/${baseTwo}/statistics`],
      ['GET', `/documents/${idsTwo.Tides}`],
      ['DELETE', `/documents/${idsTwo.Tides}`],
      ['POST', `/documents/${idsTwo.Tides}/reprocess`],
      ['DELETE', `/bases/${baseTwo}`],
    ] as const) {
      expect({ url, status: (await call(token, method, url)).statusCode }).toEqual({ url, status: 404 });
    }
    const named = await call(token, 'POST', '/search', { query: 'moon', knowledgeBaseIds: [baseTwo] });
    expect(named.statusCode).toBe(404);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM kb_chunks WHERE tenant_id = $1`, [
      two.tenant.id,
    ]);
    expect(n).toBe(5);
    // The keyword function reads past row-level security: acting as one tenant, it finds nothing of the
    // other's, whether it is passed the other tenant or the other tenant's base.
    const keyword = (tenantId: string, baseId: string) =>
      t.dataSource.transaction(async (manager) => {
        await manager.query(`SELECT set_config('role', 'atrium_app', true), set_config('atrium.tenant_id', $1, true)`, [
          one.tenant.id,
        ]);
        return manager.query(`SELECT id FROM atrium_kb_keyword($1, 'simple', 'moon tides bread', $2, '{}', 50, 300)`, [
          tenantId,
          [baseId],
        ]);
      });
    expect((await keyword(one.tenant.id, baseOne)).length).toBeGreaterThan(0);
    expect(await keyword(two.tenant.id, baseTwo)).toEqual([]);
    expect(await keyword(one.tenant.id, baseTwo)).toEqual([]);
    // Every lexeme of a chunk sits behind its tenant's tag, so the full-text index lists each tenant's words apart.
    const tagged = await t.dataSource.query(
      `SELECT c.tenant_id AS "tenantId", bool_and(starts_with(l, atrium_kb_tag(c.tenant_id))) AS "tagged",
              count(DISTINCT atrium_kb_tag(c.tenant_id))::int AS "tags"
         FROM kb_chunks c CROSS JOIN unnest(tsvector_to_array(c.tsv)) AS l
        WHERE c.tenant_id = ANY($1::uuid[]) GROUP BY c.tenant_id ORDER BY 1`,
      [[one.tenant.id, two.tenant.id]],
    );
    expect(tagged).toEqual(
      [one.tenant.id, two.tenant.id].sort().map((tenantId) => ({ tenantId, tagged: true, tags: 1 })),
    );
    // Tagging keeps positions, weights and quoted lexemes.
    const [salted] = await t.dataSource.query(
      `SELECT atrium_kb_salt($1, $$'it''s':1A 'moon':2,5 'x y':3$$::tsvector)::text AS tsv, atrium_kb_tag($1) AS tag`,
      [one.tenant.id],
    );
    expect(salted.tsv).toBe(`'${salted.tag}it''s':1A '${salted.tag}moon':2,5 '${salted.tag}x y':3`);
    // A word the tag would make longer than a lexeme may be is left out; the rest is kept.
    const [long] = await t.dataSource.query(
      `SELECT atrium_kb_salt($1, to_tsvector('simple', repeat('a', 2045) || ' moon'))::text AS tsv`,
      [one.tenant.id],
    );
    expect(long.tsv).toBe(`'${salted.tag}moon':2`);
  });

  it('limits a key to chosen bases: others answer 404 and never show in search', async () => {
    const { tenant, member } = await tenantOn();
    const allowed = await base(member.accessToken);
    const hidden = await base(member.accessToken);
    await addCorpus(member.accessToken, allowed);
    const hiddenIds = await addCorpus(member.accessToken, hidden);
    const keyRes = await t.http({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: bearer(member.accessToken),
      payload: { name: 'scoped', knowledgeBaseIds: [allowed] },
    });
    expect(keyRes.statusCode).toBe(201);
    expect(keyRes.json().knowledgeBaseIds).toEqual([allowed]);
    const scoped = keyRes.json().key as string;
    const listed = (await call(scoped, 'GET', '/bases')).json();
    expect(listed.items.map((b: { id: string }) => b.id)).toEqual([allowed]);
    expect((await call(scoped, 'GET', `/bases/${hidden}`)).statusCode).toBe(404);
    expect((await call(scoped, 'GET', `/documents/${hiddenIds.Tides}`)).statusCode).toBe(404);
    expect((await call(scoped, 'POST', `/bases/${hidden}/documents`, { title: 'x', text: 'y' })).statusCode).toBe(404);
    expect((await call(scoped, 'POST', '/search', { query: 'moon', knowledgeBaseIds: [hidden] })).statusCode).toBe(404);
    const hits = (await call(scoped, 'POST', '/search', { query: 'moon tides', topK: 50 })).json().results;
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h: { knowledgeBaseId: string }) => h.knowledgeBaseId === allowed)).toBe(true);
    // A scoped key cannot make a key that reaches further; an unknown base cannot be named.
    const wider = await t.http({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: bearer(scoped),
      payload: { name: 'wider', knowledgeBaseIds: [allowed, hidden] },
    });
    expect(wider.statusCode).toBe(403);
    const unknown = await t.http({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: bearer(member.accessToken),
      payload: { name: 'unknown', knowledgeBaseIds: [tenant.id] },
    });
    expect(unknown.statusCode).toBe(400);
    // The tenant key reads every base, and cannot write.
    const app = (await tenantKey(t, tenant)).key;
    expect((await call(app, 'GET', '/bases')).json().total).toBe(2);
    expect((await call(app, 'POST', '/bases', { name: 'no' })).statusCode).toBe(403);
    const viewer = await newUser(t, tenant, 'viewer');
    expect((await call(viewer.accessToken, 'GET', `/bases/${allowed}`)).statusCode).toBe(200);
    expect(
      (await call(viewer.accessToken, 'POST', `/bases/${allowed}/documents`, { title: 'x', text: 'y' })).statusCode,
    ).toBe(403);
  });

  it('holds the kb_documents quota exactly under parallel adds, with the quota message', async () => {
    const { tenant, member } = await tenantOn([{ meter: 'kb_documents', limit: 3, period: 'month', scope: 'tenant' }]);
    const baseId = await base(member.accessToken, {});
    const results = await parallel(12, (i) =>
      call(member.accessToken, 'POST', `/bases/${baseId}/documents`, { title: `Doc ${i}`, text: `Body number ${i}` }),
    );
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(3);
    const refused = results.filter((r) => r.statusCode === 429);
    expect(refused).toHaveLength(9);
    expect(refused[0].json().detail).toMatch(/^Quota exceeded for kb_documents\. Used: 3\/3\. Resets at /);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM kb_documents WHERE tenant_id = $1`, [
      tenant.id,
    ]);
    expect(n).toBe(3);
  });

  it('reprocesses with new settings, refuses bad input with 4xx and writes nothing', async () => {
    const { tenant, member } = await tenantOn();
    const token = member.accessToken;
    const baseId = await base(token, { chunkSize: 512, chunkOverlap: 0 });
    const long = Array.from(
      { length: 40 },
      (_, i) => `Paragraph ${i} talks about topic ${i} at some length here.`,
    ).join('\n\n');
    const doc = (await call(token, 'POST', `/bases/${baseId}/documents`, { title: 'Long', text: long })).json();
    const first = await ready(token, doc.id);
    expect(first.chunkCount).toBeLessThanOrEqual(2);
    const put = await call(token, 'PUT', `/bases/${baseId}`, {
      name: 'Handbook',
      settings: { chunkSize: 64, chunkOverlap: 8 },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json().settings).toMatchObject({
      chunkSize: 64,
      chunkOverlap: 8,
      language: 'simple',
      embeddingModel: null,
    });
    expect((await call(token, 'POST', `/documents/${doc.id}/reprocess`)).statusCode).toBe(202);
    const again = await ready(token, doc.id);
    expect(again.chunkCount).toBeGreaterThan(first.chunkCount + 3);
    const sizes = await t.dataSource.query(`SELECT tokens FROM kb_chunks WHERE tenant_id = $1 AND document_id = $2`, [
      tenant.id,
      doc.id,
    ]);
    expect(sizes.length).toBe(again.chunkCount);
    expect(sizes.every((row: { tokens: number }) => row.tokens <= 64)).toBe(true);
    // The document's tokens are its text's, whatever the chunking: the overlap is not counted twice.
    expect(again.tokenCount).toBe(first.tokenCount);
    expect(sizes.reduce((sum: number, row: { tokens: number }) => sum + row.tokens, 0)).toBeGreaterThan(
      again.tokenCount,
    );
    // Keyword search alone on a base without a model; vector is refused there.
    expect((await call(token, 'POST', '/search', { query: 'topic', mode: 'vector' })).statusCode).toBe(422);
    expect((await call(token, 'POST', '/search', { query: 'Paragraph 7' })).json().mode).toBe('keyword');

    const before = await t.dataSource.query(`SELECT count(*)::int AS n FROM knowledge_bases WHERE tenant_id = $1`, [
      tenant.id,
    ]);
    for (const payload of [
      {},
      { name: '' },
      { name: 'x', settings: { chunkSize: 10 } },
      { name: 'x', settings: { chunkSize: 64, chunkOverlap: 40 } },
      { name: 'x', settings: { language: 'klingon' } },
      { name: 'x', settings: { embeddingModel: 'local-chat' } },
      { name: 'x', settings: { embeddingModel: 'no-such-model' } },
      { name: 'x', colour: 'red' },
      { name: 'x\u0000' },
      { name: { deep: { deeper: {} } } },
    ]) {
      const res = await call(token, 'POST', '/bases', payload);
      expect({ payload, status: res.statusCode < 500 && res.statusCode >= 400 }).toEqual({ payload, status: true });
    }
    for (const payload of [
      { query: '' },
      { query: 'x', topK: 51 },
      { query: 'x', mode: 'semantic' },
      { query: 'x', filter: { nested: { a: 1 } } },
      { query: 'x', knowledgeBaseIds: ['not-a-uuid'] },
    ]) {
      expect((await call(token, 'POST', '/search', payload)).statusCode).toBe(400);
    }
    const after = await t.dataSource.query(`SELECT count(*)::int AS n FROM knowledge_bases WHERE tenant_id = $1`, [
      tenant.id,
    ]);
    expect(after).toEqual(before);

    // Deleting the base removes its documents and chunks.
    expect((await call(token, 'DELETE', `/bases/${baseId}`)).statusCode).toBe(204);
    expect(await t.dataSource.query(`SELECT 1 FROM kb_chunks WHERE tenant_id = $1`, [tenant.id])).toEqual([]);
    expect(await t.dataSource.query(`SELECT 1 FROM kb_documents WHERE tenant_id = $1`, [tenant.id])).toEqual([]);
  });

  /** A multipart upload of one file (and optional text fields) to a base. */
  function uploader(token: string, baseId: string) {
    return (name: string, type: string, bytes: Buffer, fields: Record<string, string> = {}) => {
      const boundary = 'atrium-test-boundary';
      const parts = Object.entries(fields).map(
        ([field, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${field}"\r\n\r\n${value}\r\n`,
      );
      const body = Buffer.concat([
        Buffer.from(parts.join('')),
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n`,
        ),
        bytes,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      return t.http({
        method: 'POST',
        url: `/api/v1/knowledge/bases/${baseId}/documents/upload`,
        headers: { ...bearer(token), 'content-type': `multipart/form-data; boundary=${boundary}` },
        payload: body,
      });
    };
  }

  it('reads every file type end to end: each is found by a word only it contains', async () => {
    const { member } = await tenantOn();
    const baseId = await base(member.accessToken);
    const upload = uploader(member.accessToken, baseId);
    const files: [string, string, Buffer, string][] = [
      ['plain.txt', 'text/plain', Buffer.from('The aardvark digs at night.'), 'aardvark'],
      ['notes.md', 'text/markdown', Buffer.from('# Birds\n\nThe flamingo stands on one leg.'), 'flamingo'],
      [
        'page.html',
        'text/html',
        Buffer.from(
          '<html><head><title>Page</title><script>var hidden = "xylophone";</script></head><body><h1>Cats</h1><p>The ocelot is a wild cat.</p></body></html>',
        ),
        'ocelot',
      ],
      ['paper.pdf', 'application/pdf', pdfFixture([['The narwhal has a long tusk.']]), 'narwhal'],
      [
        'report.docx',
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        await docxFixture([{ text: 'Reptiles', style: 'Heading1' }, { text: 'The iguana basks in the sun.' }]),
        'iguana',
      ],
      ['table.csv', 'text/csv', Buffer.from('animal,home\nplatypus,river\nkoala,tree\n'), 'platypus'],
      ['data.json', 'application/json', Buffer.from(JSON.stringify({ animal: 'wombat', legs: 4 })), 'wombat'],
    ];
    const ids: Record<string, string> = {};
    for (const [name, type, bytes] of files) {
      const res = await upload(name, type, bytes, { metadata: JSON.stringify({ file: name }) });
      expect({ name, status: res.statusCode }).toEqual({ name, status: 201 });
      ids[name] = res.json().id;
    }
    for (const [name, , , word] of files) {
      const document = await ready(member.accessToken, ids[name]);
      expect({ name, status: document.status, error: document.error }).toEqual({ name, status: 'ready', error: null });
      const hits = (await call(member.accessToken, 'POST', '/search', { query: word, mode: 'keyword' })).json().results;
      expect({ word, titles: hits.map((h: { documentTitle: string }) => h.documentTitle) }).toEqual({
        word,
        titles: [name],
      });
      expect(hits[0].metadata).toEqual({ file: name });
    }
    // A script's text is not content.
    expect(
      (await call(member.accessToken, 'POST', '/search', { query: 'xylophone', mode: 'keyword' })).json().results,
    ).toEqual([]);
    const listed = (await call(member.accessToken, 'GET', `/bases/${baseId}/documents?status=ready&limit=100`)).json();
    expect(listed.total).toBe(files.length);
    expect(new Set(listed.items.map((d: { format: string }) => d.format))).toEqual(
      new Set(['text', 'markdown', 'html', 'pdf', 'docx', 'csv', 'json']),
    );
  });

  it('answers 413 for a file over KB_MAX_FILE_BYTES, 415 for a type it cannot read, and fails a corrupt file readably', async () => {
    const { member } = await tenantOn();
    const baseId = await base(member.accessToken, {});
    const key = (await personalKey(t, member)).key;
    const upload = uploader(key, baseId);
    expect((await upload('big.txt', 'text/plain', Buffer.alloc(70_000, 'a'))).statusCode).toBe(413);
    const png = await upload('x.png', 'image/png', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
    expect(png.statusCode).toBe(415);
    expect(png.json().code).toBe('UNSUPPORTED_DOCUMENT_TYPE');
    const corrupt = await upload('broken.pdf', 'application/pdf', Buffer.from('%PDF-1.7\n garbage that is no pdf'));
    expect(corrupt.statusCode).toBe(201);
    const failed = await ready(member.accessToken, corrupt.json().id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/PDF/);
    expect((await t.http({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    const text = await upload('notes.md', 'text/markdown', Buffer.from('# Notes\n\nThe zebra crossing is striped.'));
    expect(text.statusCode).toBe(201);
    expect((await ready(member.accessToken, text.json().id)).status).toBe('ready');
    const hit = (await call(member.accessToken, 'POST', '/search', { query: 'zebra' })).json().results[0];
    expect(hit).toMatchObject({ documentTitle: 'notes.md' });
  });
});
