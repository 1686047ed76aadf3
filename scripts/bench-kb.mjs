// Knowledge-base ingestion and search on the built server:
//   (1) ingestion: `documents` documents of ~5 paragraphs added through the API, 10 at a time, timed until all
//       are ready (documents/s and chunks/s);
//   (2) seeding: `chunks` chunks for the bench tenant's base and as many for another tenant's, written straight
//       into the tables with the local embedding model's vectors (timed);
//   (3) POST /api/v1/knowledge/search latency per mode (keyword, vector, hybrid) under `connections`
//       connections with an API key and rotating queries: req/s, p50, p95, p99, non-2xx; beside a cheap
//       authenticated read with the same key (the baseline of what any request costs).
// Goal: hybrid p95 < 50 ms (reported; a miss does not fail the run).
// Usage: npm run bench:kb -- [--database-url postgres://postgres@127.0.0.1:5432/postgres]
//          [--redis-url redis://127.0.0.1:6379] [--documents 200] [--chunks 100000] [--seconds 10]
//          [--connections 10] [--log-level warn]
// Embedded PGlite by default; with --database-url, PostgreSQL (+ Redis) in a database of its own instead.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  benchTenant,
  call,
  creditedBenchTenant,
  root,
  serverEnv,
  serverScript,
  start,
  withDatabase,
} from './bench-common.mjs';

const localModels = pathToFileURL(join(root, 'dist/src/modules/gateway/local/local-models.js')).href;
const MODES = ['keyword', 'vector', 'hybrid'];
const GOAL_P95_MS = 50;
const INGEST_CONCURRENCY = 10;
const PARAGRAPHS_PER_DOCUMENT = 5;
// About one paragraph per chunk at the default chunk size (512 tokens), so seeded chunks resemble ingested ones.
const WORDS_PER_PARAGRAPH = 130;
const CHUNKS_PER_DOCUMENT = 250;
const SEED_BATCH = 1000;
const QUERY_COUNT = 64;
const seeds = { vocabulary: 7, documents: 11, chunks: 13, queries: 17 };

const began = performance.now();
// Runs take minutes: say what is going on (on stderr, so stdout stays the report).
const progress = (message) => console.error(`[${((performance.now() - began) / 1000).toFixed(0)} s] ${message}`);

/** mulberry32: a small seeded generator, so every run (and the embedding worker) sees the same corpus. */
function generator(seed) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES =
  'ka lo mi ne ru ta vo si pe da go hu ri sa te ba fi zo ma ku li no pa re ve cho tra sen mor lin'.split(' ');

/** 5,000 made-up words, most frequent first. */
function vocabulary() {
  const next = generator(seeds.vocabulary);
  const words = new Set();
  while (words.size < 5000) {
    const length = 2 + Math.floor(next() * 3);
    words.add(Array.from({ length }, () => SYLLABLES[Math.floor(next() * SYLLABLES.length)]).join(''));
  }
  return [...words];
}

/**
 * Text drawn from the vocabulary by Zipf's law (the word of rank r about 1/r as often as the first), as in
 * natural language: a few words are everywhere, most are rare, so a query matches a realistic share of chunks.
 */
function corpus(seed) {
  const words = vocabulary();
  const cumulative = [];
  let total = 0;
  for (let rank = 1; rank <= words.length; rank++) cumulative.push((total += 1 / rank));
  const next = generator(seed);
  const word = () => {
    const x = next() * total;
    let [lo, hi] = [0, cumulative.length - 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return words[lo];
  };
  const sentence = () => {
    const picked = Array.from({ length: 8 + Math.floor(next() * 10) }, word);
    return `${picked[0][0].toUpperCase()}${picked[0].slice(1)} ${picked.slice(1).join(' ')}.`;
  };
  const paragraph = () => {
    const sentences = [];
    for (let n = 0; n < WORDS_PER_PARAGRAPH; n += sentences.at(-1).split(' ').length) sentences.push(sentence());
    return sentences.join(' ');
  };
  // Two to four words of middling frequency (ranks 150 to 5,000, spread evenly on a log scale): each query then
  // matches a few percent to a fifth of the chunks, ~9% on average.
  const query = () =>
    Array.from({ length: 2 + Math.floor(next() * 3) }, () => words[Math.floor(150 * (5000 / 150) ** next())]).join(' ');
  return { paragraph, query };
}

// The embedding worker: one batch of chunk texts per request, with each text's vector (as the column's literal)
// and exact token count, so the main thread's inserts overlap the next batch's embedding on a second core.
if (!isMainThread) {
  const { localEmbeddings } = await import(localModels);
  const { paragraph } = corpus(seeds.chunks);
  const [open, close] = workerData.storage === 'vector' ? ['[', ']'] : ['{', '}'];
  parentPort.on('message', (size) => {
    const texts = Array.from({ length: size }, paragraph);
    // One text per call: its usage is then that chunk's token count.
    const embedded = texts.map((input) => localEmbeddings({ model: 'local-embedding', input }));
    parentPort.postMessage({
      texts,
      tokens: embedded.map((e) => e.usage.prompt_tokens),
      vectors: embedded.map((e) => `${open}${e.data[0].embedding.join(',')}${close}`),
    });
  });
} else {
  await main();
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      'database-url': { type: 'string' },
      'redis-url': { type: 'string' },
      documents: { type: 'string', default: '200' },
      chunks: { type: 'string', default: '100000' },
      seconds: { type: 'string', default: '10' },
      connections: { type: 'string', default: '10' },
      'log-level': { type: 'string', default: 'warn' },
    },
  });
  const options = {
    documents: Number(args.documents),
    chunks: Number(args.chunks),
    seconds: Number(args.seconds),
    connections: Number(args.connections),
    logLevel: args['log-level'],
  };
  const result = args['database-url']
    ? await withDatabase(args['database-url'], `atrium_bench_kb_${Date.now()}`, (url) =>
        measure(`PostgreSQL${args['redis-url'] ? ' + Redis' : ''}`, url, args['redis-url'], options),
      )
    : await measure('embedded PGlite', undefined, undefined, options);
  report(result, options);
}

async function measure(engine, databaseUrl, redisUrl, options) {
  const port = 3997;
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'atrium-bench-kb-'));
  const env = {
    ...serverEnv({ port, dataDir, databaseUrl, redisUrl, logLevel: options.logLevel }),
    // Keeps this run's queues apart from anything else on a shared Redis.
    REDIS_PREFIX: `atrium-bench-kb-${process.pid}`,
  };
  let server = start(serverScript, { port, env });
  try {
    await server.ready('/health/ready');
    const bench = await creditedBenchTenant(base, { prepare: (rootAuth) => localEmbeddingRoute(base, rootAuth) });
    const others = await benchTenant(base, { slug: `others-${Date.now()}` });
    const kb = (auth, name) =>
      call(base, 'POST', '/api/v1/knowledge/bases', { name, settings: { embeddingModel: 'local-embedding' } }, auth);
    bench.baseId = (await kb(bench.jwt, 'bench')).id;
    others.baseId = (await kb(others.jwt, 'others')).id;

    progress(`${engine}: ingesting ${options.documents} documents`);
    const ingestion = await ingest(base, bench, options.documents);
    const { query: nextQuery } = corpus(seeds.queries);
    const queries = Array.from({ length: QUERY_COUNT }, nextQuery);

    progress(`${engine}: seeding ${options.chunks} chunks per tenant`);
    // PGlite is single-process: the server stops while its data directory is seeded.
    if (!databaseUrl) await server.stop();
    const db = await seedingConnection(databaseUrl, dataDir);
    let seeding;
    try {
      seeding = await seed(db.query, [bench, others], queries, options);
    } finally {
      await db.close();
    }
    if (!databaseUrl) {
      server = start(serverScript, { port, env });
      await server.ready('/health/ready');
    }

    // The same key on a cheap read: what any request costs before search does anything.
    const search = {
      baseline: await latency(
        base,
        bench.key,
        { method: 'GET', path: '/api/v1/knowledge/bases', warmUp: true },
        options,
      ),
    };
    for (const mode of MODES) {
      progress(`${engine}: ${mode} search`);
      // Checks the answers and warms up one search at a time (a warm-up under load would leave a backlog
      // behind when searches are slow): the queries in turn for 2 s, at least one.
      const until = performance.now() + 2000;
      for (let i = 0; i === 0 || (i < queries.length && performance.now() < until); i++) {
        await checkSearch(base, bench, mode, queries[i]);
      }
      let next = 0;
      const body = () => JSON.stringify({ query: queries[next++ % queries.length], mode, topK: 5 });
      search[mode] = await latency(
        base,
        bench.key,
        { method: 'POST', path: '/api/v1/knowledge/search', body },
        options,
      );
    }
    return { engine, ingestion, seeding, search };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (redisUrl) await dropKeys(redisUrl, env.REDIS_PREFIX);
  }
}

/** A connection that seeds the tables: to PostgreSQL, or to the embedded database's data directory. */
async function seedingConnection(databaseUrl, dataDir) {
  if (databaseUrl) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    return { query: async (text, params) => (await client.query(text, params)).rows, close: () => client.end() };
  }
  const { createEmbedded } = await import(pathToFileURL(join(root, 'dist/src/database/embedded.js')).href);
  const db = await createEmbedded(join(dataDir, 'pglite'));
  return { query: async (text, params) => (await db.query(text, params)).rows, close: () => db.close() };
}

/**
 * The built-in provider's embedding route: production mode (as benchmarks run) does not set it up. Priced like a
 * small hosted embedding model, so ingestion and vector search are metered as they would be.
 */
async function localEmbeddingRoute(base, rootAuth) {
  const provider = await call(base, 'POST', '/api/v1/providers', { name: 'local', kind: 'local' }, rootAuth);
  await call(
    base,
    'POST',
    '/api/v1/model-routes',
    {
      alias: 'local-embedding',
      task: 'embedding',
      targets: [{ providerId: provider.id, model: 'local-embedding' }],
      inputPerMTokMicros: 20_000,
    },
    rootAuth,
  );
}

/** Deletes the run's queues and whatever else it left in Redis. */
async function dropKeys(url, prefix) {
  const redis = new Redis(url);
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 1000 })) {
      if (keys.length > 0) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool(items, width, fn) {
  let next = 0;
  const out = new Array(items.length);
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** Adds `count` documents through the API and waits until every one is processed. */
async function ingest(base, tenant, count) {
  const { paragraph } = corpus(seeds.documents);
  const documents = Array.from({ length: count }, (_, i) => ({
    title: `Document ${i + 1}`,
    text: Array.from({ length: PARAGRAPHS_PER_DOCUMENT }, paragraph).join('\n\n'),
    metadata: { source: 'bench', index: i },
  }));
  const path = `/api/v1/knowledge/bases/${tenant.baseId}`;
  const started = performance.now();
  const added = await pool(documents, INGEST_CONCURRENCY, (document) =>
    call(base, 'POST', `${path}/documents`, document, tenant.jwt),
  );
  const deadline = started + 10 * 60_000;
  for (;;) {
    const { documentsByStatus: status } = await call(base, 'GET', `${path}/statistics`, undefined, tenant.jwt);
    if (status.ready + status.failed >= count) break;
    if (performance.now() > deadline)
      throw new Error(`ingestion: not done after 10 minutes (${JSON.stringify(status)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  const processed = await pool(added, INGEST_CONCURRENCY, ({ id }) =>
    call(base, 'GET', `/api/v1/knowledge/documents/${id}`, undefined, tenant.jwt),
  );
  const failed = processed.find((d) => d.status !== 'ready');
  if (failed) throw new Error(`ingestion: document ${failed.id} is ${failed.status}: ${failed.error}`);
  const chunks = processed.reduce((sum, d) => sum + d.chunkCount, 0);
  return { documents: count, chunks, seconds, documentsPerSecond: count / seconds, chunksPerSecond: chunks / seconds };
}

/** Embeds chunk texts in a worker thread, a batch per request, one request ahead of the inserts. */
function embedder(storage) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { storage } });
  const ready = [];
  const waiting = [];
  let failure;
  worker.on('message', (batch) => (waiting.length > 0 ? waiting.shift().resolve(batch) : ready.push(batch)));
  worker.on('error', (err) => {
    failure = err;
    for (const waiter of waiting.splice(0)) waiter.reject(err);
  });
  return {
    request: (size) => worker.postMessage(size),
    next: () =>
      ready.length > 0
        ? Promise.resolve(ready.shift())
        : failure
          ? Promise.reject(failure)
          : new Promise((resolve, reject) => waiting.push({ resolve, reject })),
    close: () => worker.terminate(),
  };
}

/**
 * Seeds `options.chunks` chunks (in documents of CHUNKS_PER_DOCUMENT) into each tenant's base, as processing
 * would write them: tsvector in the bases' language (the default, `simple`) behind the tenant's tag, embeddings
 * of the local model.
 * Both tenants get the same texts, so a leak across tenants would show up as equally good hits, and the other
 * tenant's rows weigh on the shared indexes exactly as the bench tenant's do.
 */
async function seed(query, tenants, queries, options) {
  const count = options.chunks;
  const started = performance.now();
  const [{ type }] = await query(
    `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = 'kb_chunks'::regclass AND attname = 'embedding'`,
  );
  const storage = type === 'vector' ? 'vector' : 'real[]';
  const documents = Math.ceil(count / CHUNKS_PER_DOCUMENT);
  for (const tenant of tenants) {
    tenant.documentIds = Array.from({ length: documents }, () => randomUUID());
    await query(
      `INSERT INTO kb_documents (tenant_id, id, knowledge_base_id, title, format, content_type, size_bytes, blob_key,
                                 metadata, status, processed_at)
       SELECT $1, d.id, $2, 'Seeded ' || d.n, 'text', 'text/plain; charset=utf-8', 0, 'bench/seeded/' || d.id,
              '{"source":"seed"}', 'ready', now()
         FROM unnest($3::uuid[]) WITH ORDINALITY AS d(id, n)`,
      [tenant.tenantId, tenant.baseId, tenant.documentIds],
    );
  }
  // Row-by-row inserts into the HNSW index that processing made (pgvector) would take most of the seeding; one
  // build of the same index after the rows are in is much faster.
  const vectorIndexes = await query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'kb_chunks' AND indexdef LIKE '%USING hnsw%'`,
  );
  for (const { indexname } of vectorIndexes) await query(`DROP INDEX "${indexname}"`);
  const embeddings = embedder(storage);
  try {
    embeddings.request(Math.min(SEED_BATCH, count));
    for (let first = 0; first < count; first += SEED_BATCH) {
      const batch = await embeddings.next();
      if (first + SEED_BATCH < count) embeddings.request(Math.min(SEED_BATCH, count - first - SEED_BATCH));
      const positions = batch.texts.map((_, i) => first + i);
      for (const tenant of tenants) {
        await query(
          `INSERT INTO kb_chunks (tenant_id, knowledge_base_id, document_id, ordinal, text, tokens, metadata, tsv,
                                  embedding)
           SELECT $1, $2, c.document_id, c.ordinal, c.text, c.tokens, '{"source":"seed"}',
                  atrium_kb_salt($1, to_tsvector('simple', c.text)), c.embedding::${storage}
             FROM unnest($3::uuid[], $4::int[], $5::text[], $6::int[], $7::text[])
                  AS c(document_id, ordinal, text, tokens, embedding)`,
          [
            tenant.tenantId,
            tenant.baseId,
            positions.map((p) => tenant.documentIds[Math.floor(p / CHUNKS_PER_DOCUMENT)]),
            positions.map((p) => p % CHUNKS_PER_DOCUMENT),
            batch.texts,
            batch.tokens,
            batch.vectors,
          ],
        );
      }
    }
  } finally {
    await embeddings.close();
  }
  for (const tenant of tenants) {
    await query(
      `UPDATE kb_documents d SET chunk_count = s.chunks, token_count = s.tokens, size_bytes = s.bytes
         FROM (SELECT document_id, count(*) AS chunks, sum(tokens) AS tokens, sum(octet_length(text)) AS bytes
                 FROM kb_chunks WHERE tenant_id = $1 AND document_id = ANY($2::uuid[]) GROUP BY document_id) s
        WHERE d.tenant_id = $1 AND d.id = s.document_id`,
      [tenant.tenantId, tenant.documentIds],
    );
  }
  const inserted = performance.now();
  if (vectorIndexes.length > 0) {
    // The graph of every seeded vector fits in memory this way, which keeps the build fast.
    await query(`SET maintenance_work_mem = '1GB'`);
    for (const { indexdef } of vectorIndexes) await query(indexdef);
  }
  const indexed = performance.now();
  // Search plans depend on statistics; PGlite has no autovacuum, and on PostgreSQL it would lag behind the seeding.
  await query('VACUUM ANALYZE kb_documents');
  await query('VACUUM ANALYZE kb_chunks');
  const seconds = (performance.now() - started) / 1000;
  // The share of the bench tenant's chunks each query's words match (any of them, as keyword search does).
  const [matched] = await query(
    `SELECT t.chunks, avg(m.n::float8 / t.chunks) AS mean, min(m.n::float8 / t.chunks) AS min,
            max(m.n::float8 / t.chunks) AS max
       FROM (SELECT count(*)::int AS chunks FROM kb_chunks WHERE tenant_id = $1) t
      CROSS JOIN unnest($2::text[]) AS q(text)
      CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM kb_chunks c
         WHERE c.tenant_id = $1 AND c.tsv @@ (
           SELECT string_agg(quote_literal(atrium_kb_tag($1) || lexeme), ' | ')::tsquery
             FROM unnest(tsvector_to_array(to_tsvector('simple', q.text))) AS lexeme)
      ) m
      GROUP BY t.chunks`,
    [tenants[0].tenantId, queries],
  );
  return {
    chunks: count * tenants.length,
    documents: documents * tenants.length,
    storage,
    seconds,
    indexSeconds: vectorIndexes.length > 0 ? (indexed - inserted) / 1000 : null,
    vacuumSeconds: seconds - (indexed - started) / 1000,
    matched,
  };
}

/** One search in `mode` must find chunks, all of them the bench tenant's. */
async function checkSearch(base, tenant, mode, query) {
  const { results } = await call(
    base,
    'POST',
    '/api/v1/knowledge/search',
    { query, mode, topK: 10 },
    { 'x-api-key': tenant.key },
  );
  if (results.length === 0) throw new Error(`${mode} search for "${query}" found nothing`);
  const foreign = results.find((hit) => hit.knowledgeBaseId !== tenant.baseId);
  if (foreign) throw new Error(`${mode} search returned a chunk of base ${foreign.knowledgeBaseId}`);
}

/** autocannon on one endpoint, `body()` per request; percentiles exact from every response's time. */
async function latency(base, key, { method, path, body, warmUp = false }, options) {
  const times = [];
  const instance = autocannon({
    url: `${base}${path}`,
    method,
    headers: { ...(body && { 'content-type': 'application/json' }), 'x-api-key': key },
    connections: options.connections,
    duration: options.seconds,
    // Slow answers are measured rather than cut off; any still out when the window closes are not counted.
    timeout: 120,
    ...(warmUp && { warmup: { connections: options.connections, duration: 2 } }),
    requests: [{ setupRequest: (request) => (body ? { ...request, body: body() } : request) }],
  });
  instance.on('response', (_client, _status, _bytes, ms) => times.push(ms));
  const result = await instance;
  // The server still works on the requests left open: the next measurement starts once a request gets through.
  await call(base, 'GET', '/api/v1/knowledge/bases', undefined, { 'x-api-key': key });
  if (result.errors > 0) throw new Error(`${method} ${path}: ${result.errors} errors (${result.timeouts} timeouts)`);
  times.sort((a, b) => a - b);
  const at = (q) => (times.length === 0 ? NaN : times[Math.min(times.length - 1, Math.floor(q * times.length))]);
  return {
    requests: times.length,
    rps: times.length / options.seconds,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    non2xx: result.non2xx,
  };
}

function report(r, options) {
  const { ingestion: i, seeding: s } = r;
  console.log(
    `\n${r.engine}: ${options.connections} connections, ${options.seconds} s per mode, LOG_LEVEL=${options.logLevel}`,
  );
  console.log(
    `  ingestion  ${i.documents} documents (${i.chunks} chunks) ready in ${i.seconds.toFixed(1)} s: ` +
      `${i.documentsPerSecond.toFixed(1)} documents/s, ${i.chunksPerSecond.toFixed(1)} chunks/s`,
  );
  const build = s.indexSeconds === null ? '' : `${s.indexSeconds.toFixed(1)} s HNSW index build, `;
  console.log(
    `  seeding    ${s.chunks} chunks in ${s.documents} documents (2 tenants, embedding ${s.storage}) in ` +
      `${s.seconds.toFixed(1)} s (of it ${build}${s.vacuumSeconds.toFixed(1)} s VACUUM ANALYZE); ` +
      `the bench tenant has ${s.matched.chunks} chunks`,
  );
  const share = (x) => `${(100 * x).toFixed(1)}%`;
  console.log(
    `  queries    ${QUERY_COUNT}, each matching ${share(s.matched.mean)} of them by keyword on average ` +
      `(${share(s.matched.min)} to ${share(s.matched.max)})`,
  );
  // No answer within the window: no percentiles.
  const ms = (x) => (Number.isNaN(x) ? '-' : x.toFixed(1));
  const row = (cells) => `  ${cells.map((c, n) => (n === 0 ? c.padEnd(9) : c.padStart(9))).join(' ')}`;
  console.log(row(['mode', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'non-2xx', 'requests']));
  for (const mode of ['baseline', ...MODES]) {
    const m = r.search[mode];
    console.log(row([mode, m.rps.toFixed(1), ms(m.p50), ms(m.p95), ms(m.p99), String(m.non2xx), String(m.requests)]));
  }
  console.log('  (baseline: GET /api/v1/knowledge/bases with the same key, what any request costs)');
  const hybrid = r.search.hybrid.p95;
  const measured = Number.isNaN(hybrid) ? `no answer within ${options.seconds} s` : `${hybrid.toFixed(1)} ms`;
  console.log(`  goal: hybrid p95 < ${GOAL_P95_MS} ms: ${hybrid < GOAL_P95_MS ? 'met' : 'missed'} (${measured})`);
}
