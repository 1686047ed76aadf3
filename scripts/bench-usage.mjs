// Metering throughput and report latency on the built server:
//   (a) usage events ingested per second, in batches of 100 (POST /api/v1/usage/events);
//   (b) reserve + commit pairs per second, 10 connections, one tenant, beside GET /health/live in
//       the same run (the goal is a ratio to it);
//   (c) GET /api/v1/usage/summary latency (p50/p95/p99, `connections` clients and one) over 1,000,000 seeded
//       events (30 days, 1,000 users).
// Usage: npm run bench:usage -- [--database-url postgres://postgres@127.0.0.1:5432/postgres]
//          [--redis-url redis://127.0.0.1:6379] [--seconds 8] [--connections 10] [--events 1000000]
// Always measures the embedded database; with --database-url, PostgreSQL (+ Redis) as well.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';

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
const root = resolve(import.meta.dirname, '..');
const admin = { email: 'bench-root@atrium.local', password: 'bench-super-admin-password' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = Number(args.seconds);
const connections = Number(args.connections);

function startServer(port, env) {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof-usage'] : []),
      join(root, 'dist/src/main.js'),
    ],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise((r) => child.once('exit', r));
  return {
    async ready() {
      for (let i = 0; i < 1200; i++) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok) return;
        } catch {
          // not up yet
        }
        await sleep(50);
      }
      throw new Error('server did not become ready');
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function call(base, method, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

function load(options) {
  return new Promise((done, fail) =>
    autocannon({ connections, duration: seconds, ...options }, (err, result) => (err ? fail(err) : done(result))),
  );
}

/** A tenant on a plan without rate limits, with a generous daily user quota and credits, and a member's key. */
async function setup(base) {
  const rootLogin = await call(base, 'POST', '/api/v1/auth/login', admin);
  const rootAuth = { authorization: `Bearer ${rootLogin.accessToken}` };
  const code = `bench-${Date.now()}`;
  await call(
    base,
    'POST',
    '/api/v1/plans',
    {
      code,
      name: 'Bench',
      tier: 'bench',
      billingMode: 'prepaid',
      includedCreditsMicros: 0,
      quotas: [{ meter: 'requests', limit: 1_000_000_000, period: 'day', scope: 'user' }],
    },
    rootAuth,
  );
  const created = await call(
    base,
    'POST',
    '/api/v1/tenants',
    {
      name: 'Bench',
      slug: code,
      admin: { email: 'bench@atrium.local', name: 'Bench', password: 'bench tenant admin pw' },
    },
    rootAuth,
  );
  const tenantId = created.tenant.id;
  await call(base, 'PUT', `/api/v1/tenants/${tenantId}/subscription`, { planCode: code }, rootAuth);
  await call(
    base,
    'POST',
    `/api/v1/tenants/${tenantId}/credits/grants`,
    { amountMicros: 1_000_000_000_000, reason: 'bench', idempotencyKey: 'bench' },
    rootAuth,
  );
  const user = await call(base, 'POST', '/api/v1/auth/login', {
    email: 'bench@atrium.local',
    password: 'bench tenant admin pw',
    tenant: created.tenant.slug,
  });
  const key = await call(
    base,
    'POST',
    '/api/v1/api-keys',
    { name: 'bench' },
    { authorization: `Bearer ${user.accessToken}` },
  );
  return { tenantId, key: key.key, adminToken: user.accessToken };
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
  const env = {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl ?? '',
    REDIS_URL: redisUrl ?? '',
    LOG_LEVEL: args['log-level'],
    LOG_FORMAT: 'json',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-123',
    SECRETS_KEY: 'a'.repeat(64),
    SUPER_ADMIN_EMAIL: admin.email,
    SUPER_ADMIN_PASSWORD: admin.password,
    BCRYPT_COST: '4',
    LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
  };
  let server = startServer(port, env);
  try {
    await server.ready();
    const { tenantId, key, adminToken } = await setup(base);
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
      const { PGlite } = await import('@electric-sql/pglite');
      const db = await PGlite.create(join(dataDir, 'pglite'));
      await seed((text, params) => db.query(text, params), tenantId, count);
      await db.close();
      server = startServer(port, env);
      await server.ready();
    }
    const auth = { authorization: `Bearer ${adminToken}` };
    const summary = await latencies(`${base}/api/v1/usage/summary?groupBy=day`, auth);
    const byUser = await latencies(`${base}/api/v1/usage/summary?groupBy=user`, auth);
    const alone = await latencies(`${base}/api/v1/usage/summary?groupBy=day`, auth, 1);
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

async function withDatabase(fn) {
  const url = new URL(args['database-url']);
  const name = `atrium_bench_usage_${Date.now()}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`CREATE DATABASE "${name}"`);
  try {
    url.pathname = `/${name}`;
    return await fn(url.toString());
  } finally {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.end();
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
    await withDatabase((url) => measure(`PostgreSQL${args['redis-url'] ? ' + Redis' : ''}`, url, args['redis-url'])),
  );
}
results.forEach(report);
