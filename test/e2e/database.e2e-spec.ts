import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { emptyDataSource } from '../helpers/test-database.js';
import { ProbeCounter, ProbeModule } from '../helpers/probe.module.js';

const engine = process.env.TEST_DATABASE_URL ? 'PostgreSQL' : 'PGlite';

describe(`database on ${engine}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({}, [ProbeModule]);
    await t.dataSource.query(`CREATE TABLE probe_counter (id int PRIMARY KEY, value int NOT NULL)`);
    await t.dataSource.query(`INSERT INTO probe_counter (id, value) VALUES (1, 0)`);
  });
  afterAll(() => t.close());

  it('runs 50 concurrent read-modify-write transactions without losing an update', async () => {
    const increment = () =>
      t.dataSource.transaction(async (manager) => {
        const [row] = await manager.query(`SELECT value FROM probe_counter WHERE id = 1 FOR UPDATE`);
        // Yield between the read and the write so that interleaving, if possible, would happen.
        await sleep(Math.random() * 3);
        await manager.query(`UPDATE probe_counter SET value = $1 WHERE id = 1`, [row.value + 1]);
      });
    await Promise.all(Array.from({ length: 50 }, increment));
    const [row] = await t.dataSource.query(`SELECT value FROM probe_counter WHERE id = 1`);
    expect(row.value).toBe(50);
  });

  it('rolls back a failed transaction and keeps serving others', async () => {
    await expect(
      t.dataSource.transaction(async (manager) => {
        await manager.query(`UPDATE probe_counter SET value = -1 WHERE id = 1`);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const [row] = await t.dataSource.query(`SELECT value FROM probe_counter WHERE id = 1`);
    expect(row.value).toBe(50);
  });

  it('refuses undefined or null in a where clause instead of matching every row', async () => {
    const counters = t.dataSource.getRepository(ProbeCounter);
    await counters.insert([
      { id: 2, value: 7 },
      { id: 3, value: 7 },
    ]);
    const count = () => counters.count();
    expect(await count()).toBe(3);
    await expect(counters.findOne({ where: { id: undefined } })).rejects.toThrow(/undefined/i);
    await expect(counters.find({ where: { value: null as unknown as number } })).rejects.toThrow(/null/i);
    await expect(counters.delete({ id: undefined })).rejects.toThrow(/undefined/i);
    await expect(counters.update({ id: undefined }, { value: 0 })).rejects.toThrow(/undefined/i);
    expect(await count()).toBe(3);
    expect(await counters.countBy({ value: 7 })).toBe(2);
  });

  it('generates UUID primary keys without extensions, and installs only allowed extensions', async () => {
    const [row] = await t.dataSource.query(`INSERT INTO tenants (name, slug) VALUES ('C', 'c') RETURNING id`);
    expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // pgvector and btree_gin serve knowledge-base search where the database has them; nothing else is installed.
    const allowed = ['plpgsql', 'vector', 'btree_gin'];
    const extensions: { extname: string }[] = await t.dataSource.query(`SELECT extname FROM pg_extension`);
    expect(extensions.map((e) => e.extname).filter((name) => !allowed.includes(name))).toEqual([]);
  });
});

describe(`migrations on an empty ${engine} database`, () => {
  it('run all the way up, all the way down, and up again', async () => {
    const { dataSource, drop } = await emptyDataSource();
    try {
      const tables = async () =>
        (await dataSource.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).map(
          (r: { tablename: string }) => r.tablename,
        );
      expect(await tables()).toEqual([]);

      const applied = await dataSource.runMigrations();
      expect(applied.length).toBe(dataSource.migrations.length);
      expect(await tables()).toEqual([
        'api_keys',
        'auth_sessions',
        'generations',
        'jobs',
        'kb_chunks',
        'kb_documents',
        'knowledge_bases',
        'ledger_entries',
        'mail_outbox',
        'media',
        'meters',
        'migrations',
        'model_routes',
        'one_time_tokens',
        'plans',
        'platform_admins',
        'provider_keys',
        'providers',
        'quota_counters',
        'quota_defaults',
        'reservations',
        'subscriptions',
        'tenants',
        'usage_daily',
        'usage_events',
        'user_quotas',
        'users',
        'video_jobs',
        'wallets',
      ]);
      expect(await dataSource.showMigrations()).toBe(false);

      for (let i = 0; i < applied.length; i++) await dataSource.undoLastMigration();
      expect(await tables()).toEqual(['migrations']);
      expect(await dataSource.query(`SELECT count(*)::int AS n FROM migrations`)).toEqual([{ n: 0 }]);

      await dataSource.runMigrations();
      expect(await dataSource.showMigrations()).toBe(false);
    } finally {
      await drop();
    }
  });
  it('tags the lexemes of existing chunks with their tenant on the way up and takes the tags off on the way down', async () => {
    const { dataSource, drop } = await emptyDataSource();
    const tagging = 'TenantLexemes1765350000000';
    const applied = async () =>
      (await dataSource.query(`SELECT count(*)::int AS n FROM migrations WHERE name = $1`, [tagging]))[0].n;
    try {
      await dataSource.runMigrations();
      while ((await applied()) > 0) await dataSource.undoLastMigration();
      // A chunk as the schema before the tags wrote it, with a vector index where the database has pgvector.
      const [tenant] = await dataSource.query(`INSERT INTO tenants (name, slug) VALUES ('T', 't') RETURNING id`);
      const [base] = await dataSource.query(
        `INSERT INTO knowledge_bases (tenant_id, name) VALUES ($1, 'B') RETURNING id`,
        [tenant.id],
      );
      const [document] = await dataSource.query(
        `INSERT INTO kb_documents (tenant_id, knowledge_base_id, title, format, content_type, size_bytes, blob_key)
         VALUES ($1, $2, 'D', 'text', 'text/plain', 1, 'k') RETURNING id`,
        [tenant.id, base.id],
      );
      const [{ pgvector }] = await dataSource.query(
        `SELECT format_type(atttypid, atttypmod) = 'vector' AS pgvector FROM pg_attribute
          WHERE attrelid = 'kb_chunks'::regclass AND attname = 'embedding'`,
      );
      if (pgvector) {
        await dataSource.query(
          `CREATE INDEX "ix_kb_chunks_hnsw_3" ON kb_chunks
             USING hnsw ((embedding::vector(3)) vector_cosine_ops) WHERE vector_dims(embedding) = 3`,
        );
      }
      await dataSource.query(
        `INSERT INTO kb_chunks (tenant_id, knowledge_base_id, document_id, ordinal, text, tokens, tsv, embedding)
         VALUES ($1, $2, $3, 0, 'x', 1, to_tsvector('simple', $4), ${pgvector ? `'[1,2,3]'` : `'{1,2,3}'`})`,
        [tenant.id, base.id, document.id, "It's the moon, the moon"],
      );
      const stored = async () => (await dataSource.query(`SELECT tsv::text AS tsv FROM kb_chunks`))[0].tsv;
      const untagged = await stored();
      expect(untagged).toBe(`'it':1 'moon':4,6 's':2 'the':3,5`);

      await dataSource.runMigrations();
      const tag = `${tenant.id.slice(0, 8)}:`;
      expect(await stored()).toBe(`'${tag}it':1 '${tag}moon':4,6 '${tag}s':2 '${tag}the':3,5`);
      const indexes = async () =>
        (await dataSource.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'kb_chunks' ORDER BY 1`)).map(
          (r: { indexname: string }) => r.indexname,
        );
      expect(await indexes()).toEqual(
        expect.arrayContaining(['ix_kb_chunks_tsv', ...(pgvector ? ['ix_kb_chunks_hnsw_3'] : [])]),
      );

      while ((await applied()) > 0) await dataSource.undoLastMigration();
      expect(await stored()).toBe(untagged);
      if (pgvector) expect(await indexes()).toContain('ix_kb_chunks_hnsw_3');
    } finally {
      await drop();
    }
  });
});
