// Metering throughput and report latency on the built server:
//   (a) usage events ingested per second, in batches of 100 (POST /api/v1/usage/events);
//   (b) reserve + commit pairs per second, 10 connections, one tenant, beside GET /health/live in
//       the same run (the goal is a ratio to it);
//   (c) GET /api/v1/usage/summary latency (p50/p95/p99, `connections` clients and one) over 1,000,000 seeded
//       events (30 days, 1,000 users).
// Usage: npm run bench:usage -- [--database-url postgres://postgres@127.0.0.1:5432/postgres]
//          [--redis-url redis://127.0.0.1:6379] [--seconds 8] [--connections 10] [--events 1000000]
// Always measures the embedded database; with --database-url, PostgreSQL (+ Redis) as well.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { creditedBenchTenant, root, serverEnv, serverScript, sleep, start, withDatabase } from './bench-common.mjs';

const { values: args } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    'redis-url': { type: 'string' },
    seconds: { type: 'string', default: '8' },
    connections: { type: 'string', default: '10' },
    events: { type: 'string', default: '1000000' },
    'log-level': { type: 'string', default: 'warn' },
  },
});
const seconds = Number(args.seconds);
const connections = Number(args.connections);

function load(options) {
  return new Promise((done, fail) =>
    autocannon({ connections, duration: seconds, ...options }, (err, result) => (err ? fail(err) : done(result))),
  );
}

/** A tenant on a plan without rate limits, with a generous daily user quota and credits, and its admin's key. */
function setup(base) {
  return creditedBenchTenant(base, {
    plan: {
      includedCreditsMicros: 0,
      quotas: [{ meter: 'requests', limit: 1_000_000_000, period: 'day', scope: 'user' }],
    },
  });
}

async function ingest(base, key) {
  let batch = 0;
  const result = await load({
    url: `${base}/api/v1/usage/events`,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    requests: [
      {
        setupRequest: (request) => {
          batch += 1;
          const events = Array.from({ length: 100 }, (_, i) => ({
            id: `b${batch}-${i}-${randomUUID()}`,
            meter: 'requests',
            quantity: 1,
            costMicros: 1,
            model: `model-${i % 5}`,
            provider: i % 2 ? 'openai' : 'gemini',
          }));
          return { ...request, body: JSON.stringify({ events }) };
        },
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`events: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { eventsPerSecond: result.requests.average * 100, p99: result.latency.p99 };
}

async function pairs(base, key) {
  const headers = { 'content-type': 'application/json', 'x-api-key': key };
  const result = await load({
    url: `${base}/api/v1/usage/reservations`,
    method: 'POST',
    headers,
    requests: [
      {
        method: 'POST',
        path: '/api/v1/usage/reservations',
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({
            meter: 'requests',
            quantity: 1,
            estimatedCostMicros: 2,
            idempotencyKey: randomUUID(),
          }),
        }),
        onResponse: (status, body, context) => {
          context.reservation = status === 201 ? JSON.parse(body).id : undefined;
        },
      },
      {
        method: 'POST',
        setupRequest: (request, context) => ({
          ...request,
          path: `/api/v1/usage/reservations/${context.reservation}/commit`,
          body: JSON.stringify({ costMicros: 1 }),
        }),
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`pairs: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { pairsPerSecond: result.requests.average / 2, p99: result.latency.p99 };
}

/**
 * Exact latency percentiles (autocannon reports p90 and p97.5, not p95): `workers` clients
 * send GET requests one after another for `seconds`; every duration is kept.
 */
async function latencies(url, headers, workers = connections) {
  const durations = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`${url}: ${res.status}`);
        durations.push(performance.now() - started);
      }
    }),
  );
  durations.sort((a, b) => a - b);
  const at = (q) => Number(durations[Math.min(durations.length - 1, Math.floor(q * durations.length))].toFixed(1));
  return { requests: durations.length, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

async function live(base) {
  const result = await load({ url: `${base}/health/live` });
  return result.requests.average;
}

/** Seeds `count` events over 30 days and 1,000 users straight into the tables (and their daily aggregates). */
async function seed(query, tenantId, count) {
  await query(
    `INSERT INTO usage_events (tenant_id, event_id, user_id, meter, quantity, cost_micros, model, provider, status, occurred_at)
     SELECT $1, 'seed-' || g, md5((g % 1000)::text)::uuid, 'requests', 1 + g % 7, g % 100,
            'model-' || (g % 5), CASE WHEN g % 2 = 0 THEN 'openai' ELSE 'gemini' END, 'succeeded',
            now() - ((g % 30) || ' days')::interval
       FROM generate_series(1, $2) g`,
    [tenantId, count],
  );
  await query(
    `INSERT INTO usage_daily AS d (tenant_id, day, meter, user_id, api_key_id, model, provider, quantity, cost_micros, events)
     SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date, meter, user_id, '00000000-0000-0000-0000-000000000000'::uuid,
            model, provider, sum(quantity), sum(cost_micros), count(*)
       FROM usage_events WHERE tenant_id = $1 AND event_id LIKE 'seed-%'
      GROUP BY 1, 2, 3, 4, 5, 6, 7
     ON CONFLICT (tenant_id, day, meter, user_id, api_key_id, model, provider) DO UPDATE
       SET quantity = d.quantity + EXCLUDED.quantity, cost_micros = d.cost_micros + EXCLUDED.cost_micros,
           events = d.events + EXCLUDED.events`,
    [tenantId],
  );
}

async function measure(engine, databaseUrl, redisUrl) {
  const port = 3998;
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'atrium-bench-usage-'));
  const env = serverEnv({ port, dataDir, databaseUrl, redisUrl, logLevel: args['log-level'] });
  let server = start(serverScript, { port, env });
  try {
    await server.ready('/health/ready');
    const { tenantId, key, jwt } = await setup(base);
    if (process.env.BENCH_PAUSE) {
      console.log(base, key);
      await sleep(Number(process.env.BENCH_PAUSE));
    }
    const liveRps = await live(base);
    const pairResult = await pairs(base, key);
    const liveAfter = await live(base);
    const events = await ingest(base, key);

    // The summary reads the tenant's aggregates; the tenant admin (signed in) reads tenant-wide.
    const count = Number(args.events);
    if (databaseUrl) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await seed((text, params) => client.query(text, params), tenantId, count);
      await client.end();
    } else {
      // PGlite is single-process: stop the server, seed its data directory, start it again.
      await server.stop();
      const { createEmbedded } = await import(pathToFileURL(join(root, 'dist/src/database/embedded.js')).href);
      const db = await createEmbedded(join(dataDir, 'pglite'));
      await seed((text, params) => db.query(text, params), tenantId, count);
      await db.close();
      server = start(serverScript, { port, env });
      await server.ready('/health/ready');
    }
    const summary = await latencies(`${base}/api/v1/usage/summary?groupBy=day`, jwt);
    const byUser = await latencies(`${base}/api/v1/usage/summary?groupBy=user`, jwt);
    const alone = await latencies(`${base}/api/v1/usage/summary?groupBy=day`, jwt, 1);
    return {
      engine,
      liveRps: (liveRps + liveAfter) / 2,
      ...pairResult,
      ...events,
      summaryLatency: summary,
      byUser,
      alone,
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(r) {
  console.log(
    `\n${r.engine}: ${connections} connections, ${seconds} s per measurement, LOG_LEVEL=${args['log-level']}`,
  );
  console.log(
    `  (a) usage events ingested      ${r.eventsPerSecond.toFixed(0).padStart(8)} events/s  (batches of 100, p99 ${r.p99} ms)`,
  );
  console.log(
    `  (b) reserve + commit pairs     ${r.pairsPerSecond.toFixed(0).padStart(8)} pairs/s   = ${(r.pairsPerSecond / r.liveRps).toFixed(3)}× GET /health/live (${r.liveRps.toFixed(0)} req/s)`,
  );
  console.log(
    `  (c) GET /usage/summary (day)   p50 ${r.summaryLatency.p50} ms, p95 ${r.summaryLatency.p95} ms, p99 ${r.summaryLatency.p99} ms over ${args.events} events (${r.summaryLatency.requests} requests)`,
  );
  console.log(
    `      GET /usage/summary (user)  p50 ${r.byUser.p50} ms, p95 ${r.byUser.p95} ms, p99 ${r.byUser.p99} ms (${r.byUser.requests} requests)`,
  );
  console.log(
    `      GET /usage/summary (day), one client: p50 ${r.alone.p50} ms, p95 ${r.alone.p95} ms, p99 ${r.alone.p99} ms`,
  );
}

const results = [await measure('embedded PGlite', undefined, undefined)];
if (args['database-url']) {
  results.push(
    await withDatabase(args['database-url'], `atrium_bench_usage_${Date.now()}`, (url) =>
      measure(`PostgreSQL${args['redis-url'] ? ' + Redis' : ''}`, url, args['redis-url']),
    ),
  );
}
results.forEach(report);
