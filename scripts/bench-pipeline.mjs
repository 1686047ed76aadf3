// Per-request cost of Atrium's pipeline, on the built server, as ratios measured in one run:
//   a bare Nest-on-Fastify hello app (scripts/bench-hello.mjs), GET /health/live,
//   GET /api/v1/auth/me with an API key and with a JWT, and GET /api/v1/users?limit=1
//   (a tenant-scoped database read) with a JWT.
// Usage: npm run bench:pipeline -- [--database-url postgres://postgres@127.0.0.1:5432/postgres]
//          [--redis-url redis://127.0.0.1:6379] [--seconds 5] [--rounds 3] [--connections 10]
//          [--log-level info] [--env KEY=VALUE,...]
// Always measures the embedded database; with --database-url it measures PostgreSQL (+ Redis with
// --redis-url) as well, each on a fresh database that is dropped afterwards. The machine is shared and
// noisy, so the routes take turns for several rounds and each is reported by its median round.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    'log-level': { type: 'string', default: 'info' },
    env: { type: 'string', default: '' },
    only: { type: 'string' },
  },
});
const root = resolve(import.meta.dirname, '..');
const admin = { email: 'bench-root@atrium.local', password: 'bench-super-admin-password' };
const extraEnv = Object.fromEntries(
  args.env
    .split(',')
    .filter(Boolean)
    .map((pair) => pair.split('=')),
);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(script, port, env = {}) {
  const child = spawn(process.execPath, [...(process.env.BENCH_PROFILE ? ['--cpu-prof'] : []), script, String(port)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    /** CPU time the process has used so far, in microseconds (user + system, from /proc). */
    cpuMicros() {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
    },
    async ready(path) {
      for (let i = 0; i < 1200; i++) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}${path}`)).ok) return;
        } catch {
          // not up yet
        }
        await sleep(50);
      }
      throw new Error(`${script} did not become ready`);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function load(url, headers) {
  return new Promise((done, fail) => {
    autocannon(
      { url, headers, connections: Number(args.connections), duration: Number(args.seconds) },
      (err, result) => (err ? fail(err) : done(result)),
    );
  });
}

async function call(base, method, path, body, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${await res.text()}`);
  return res.json();
}

async function withDatabase(name, fn) {
  if (!args['database-url']) return fn(undefined);
  const url = new URL(args['database-url']);
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

async function measure(engine, databaseUrl, redisUrl) {
  const helloPort = 3996;
  const port = 3997;
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'atrium-bench-pipeline-'));
  const hello = start(join(root, 'scripts/bench-hello.mjs'), helloPort);
  const server = start(join(root, 'dist/src/main.js'), port, {
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
    ...extraEnv,
  });
  try {
    await hello.ready('/hello');
    await server.ready('/health/ready');
    const root = await call(base, 'POST', '/api/v1/auth/login', admin);
    const created = await call(
      base,
      'POST',
      '/api/v1/tenants',
      {
        name: 'Bench',
        slug: `bench-${Date.now()}`,
        admin: { email: 'bench@atrium.local', name: 'Bench', password: 'bench tenant admin pw' },
      },
      { authorization: `Bearer ${root.accessToken}` },
    );
    const user = await call(base, 'POST', '/api/v1/auth/login', {
      email: 'bench@atrium.local',
      password: 'bench tenant admin pw',
      tenant: created.tenant.slug,
    });
    const jwt = { authorization: `Bearer ${user.accessToken}` };
    const key = await call(base, 'POST', '/api/v1/api-keys', { name: 'bench' }, jwt);

    const cases = [
      ['bare Nest hello', `http://127.0.0.1:${helloPort}/hello`, {}, hello],
      ['GET /health/live', `${base}/health/live`, {}, server],
      ['GET /auth/me (API key)', `${base}/api/v1/auth/me`, { 'x-api-key': key.key }, server],
      ['GET /auth/me (JWT)', `${base}/api/v1/auth/me`, jwt, server],
      ['GET /users?limit=1 (JWT)', `${base}/api/v1/users?limit=1`, jwt, server],
    ].filter(([name]) => !args.only || name.includes(args.only));
    const rounds = Object.fromEntries(cases.map(([name]) => [name, []]));
    for (let round = 0; round < Number(args.rounds); round++) {
      for (const [name, url, headers, process] of cases) {
        const cpuBefore = process.cpuMicros();
        const r = await load(url, headers);
        const cpuPerRequest = (process.cpuMicros() - cpuBefore) / r.requests.total;
        if (r.non2xx > 0 || r.errors > 0) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        rounds[name].push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuPerRequest });
      }
    }
    const median = (runs) => [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)];
    const results = Object.fromEntries(Object.entries(rounds).map(([name, runs]) => [name, median(runs)]));
    return { engine, results };
  } finally {
    await server.stop();
    await hello.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report({ engine, results }) {
  console.log(
    `\n${engine}: ${args.connections} connections, ${args.seconds} s per route, LOG_LEVEL=${args['log-level']}`,
  );
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `  ${name.padEnd(26)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${String(r.p50).padStart(3)} ms   p99 ${String(r.p99).padStart(3)} ms   server CPU ${r.cpuPerRequest.toFixed(1).padStart(6)} µs/request`,
    );
  }
  const ratio = (a, b) => (results[a] && results[b] ? (results[a].rps / results[b].rps).toFixed(2) : 'n/a');
  console.log(`  /health/live      / bare hello   ${ratio('GET /health/live', 'bare Nest hello')}  (goal >= 0.60)`);
  console.log(
    `  /auth/me API key  / health/live  ${ratio('GET /auth/me (API key)', 'GET /health/live')}  (goal >= 0.90)`,
  );
  console.log(`  /auth/me JWT      / health/live  ${ratio('GET /auth/me (JWT)', 'GET /health/live')}  (goal >= 0.80)`);
  console.log(`  /users?limit=1    / health/live  ${ratio('GET /users?limit=1 (JWT)', 'GET /health/live')}`);
}

const runs = [await measure('embedded PGlite, in-process state', undefined, undefined)];
if (args['database-url']) {
  runs.push(
    await withDatabase(`atrium_bench_${Date.now()}`, (url) =>
      measure(`PostgreSQL${args['redis-url'] ? ' + Redis' : ''}`, url, args['redis-url']),
    ),
  );
}
runs.forEach(report);
