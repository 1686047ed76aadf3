// Per-request cost of Atrium's pipeline, on the built server, as ratios measured in one run:
//   a bare Nest-on-Fastify hello app (scripts/bench-hello.mjs), the same app with only the cheapest form of
//   the per-request features Atrium keeps (request id, AsyncLocalStorage context, access log, request
//   metrics: how close any pipeline with them can come to the bare app), GET /health/live,
//   GET /api/v1/auth/me with an API key and with a JWT, and GET /api/v1/users?limit=1
//   (a tenant-scoped database read) with a JWT.
// Usage: npm run bench:pipeline -- [--database-url postgres://postgres@127.0.0.1:5432/postgres]
//          [--redis-url redis://127.0.0.1:6379] [--seconds 5] [--rounds 3] [--connections 10]
//          [--log-level info] [--env KEY=VALUE,...] [--only hello,live,...]
// Always measures the embedded database; with --database-url it measures PostgreSQL (+ Redis with
// --redis-url) as well, each on a fresh database that is dropped afterwards. The machine is shared and
// noisy, so the routes take turns for several rounds: each route is reported by its median round, and
// each ratio is the median of the ratios within single rounds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { benchTenant, root, serverEnv, serverScript, start, withDatabase } from './bench-common.mjs';

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
const extraEnv = Object.fromEntries(
  args.env
    .split(',')
    .filter(Boolean)
    .map((pair) => pair.split('=')),
);

function load(url, headers) {
  return new Promise((done, fail) => {
    autocannon(
      { url, headers, connections: Number(args.connections), duration: Number(args.seconds) },
      (err, result) => (err ? fail(err) : done(result)),
    );
  });
}

/** The ratios reported (the median of each round's ratio), with their goals. */
const RATIOS = [
  ['GET /health/live', 'bare Nest hello', '0.60'],
  ['hello + features', 'bare Nest hello'],
  ['GET /auth/me (API key)', 'GET /health/live', '0.90'],
  ['GET /auth/me (JWT)', 'GET /health/live', '0.80'],
  ['GET /users?limit=1 (JWT)', 'GET /health/live'],
];

async function measure(engine, databaseUrl, redisUrl) {
  const helloPort = 3996;
  const featuresPort = 3995;
  const port = 3997;
  const base = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'atrium-bench-pipeline-'));
  const hello = start(join(root, 'scripts/bench-hello.mjs'), { port: helloPort, args: [String(helloPort)] });
  const featured = start(join(root, 'scripts/bench-hello.mjs'), {
    port: featuresPort,
    args: [String(featuresPort), 'features'],
  });
  const server = start(serverScript, {
    port,
    env: { ...serverEnv({ port, dataDir, databaseUrl, redisUrl, logLevel: args['log-level'] }), ...extraEnv },
  });
  try {
    await hello.ready('/hello');
    await featured.ready('/hello');
    await server.ready('/health/ready');
    const wanted = (name) => !args.only || args.only.split(',').some((part) => name.includes(part));
    // A signed-in caller only when a selected route needs one.
    const signedIn = wanted('GET /auth/me') || wanted('GET /users');
    const { jwt, key } = signedIn ? await benchTenant(base) : {};

    const cases = [
      ['bare Nest hello', `http://127.0.0.1:${helloPort}/hello`, {}, hello],
      ['hello + features', `http://127.0.0.1:${featuresPort}/hello`, {}, featured],
      ['GET /health/live', `${base}/health/live`, {}, server],
      ['GET /auth/me (API key)', `${base}/api/v1/auth/me`, { 'x-api-key': key }, server],
      ['GET /auth/me (JWT)', `${base}/api/v1/auth/me`, jwt, server],
      ['GET /users?limit=1 (JWT)', `${base}/api/v1/users?limit=1`, jwt, server],
    ].filter(([name]) => wanted(name));
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
    // Each ratio is the median of the ratios of single rounds, whose routes ran back to back:
    // the machine's speed drifts between rounds more than within one.
    const ratios = {};
    for (const [a, b] of RATIOS) {
      if (!rounds[a] || !rounds[b]) continue;
      const perRound = rounds[a].map((run, i) => run.rps / rounds[b][i].rps).sort((x, y) => x - y);
      ratios[`${a} / ${b}`] = perRound[Math.floor(perRound.length / 2)];
    }
    return { engine, results, ratios };
  } finally {
    await server.stop();
    await hello.stop();
    await featured.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report({ engine, results, ratios }) {
  console.log(
    `\n${engine}: ${args.connections} connections, ${args.seconds} s per route, LOG_LEVEL=${args['log-level']}`,
  );
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `  ${name.padEnd(26)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${String(r.p50).padStart(3)} ms   p99 ${String(r.p99).padStart(3)} ms   server CPU ${r.cpuPerRequest.toFixed(1).padStart(6)} µs/request`,
    );
  }
  for (const [a, b, goal] of RATIOS) {
    const value = ratios[`${a} / ${b}`];
    const label = `${a.replace('GET ', '')} / ${b.replace('GET ', '')}`;
    console.log(
      `  ${label.padEnd(36)} ${value === undefined ? ' n/a' : value.toFixed(2)}${goal ? `  (goal >= ${goal})` : ''}`,
    );
  }
}

const runs = [await measure('embedded PGlite, in-process state', undefined, undefined)];
if (args['database-url']) {
  runs.push(
    await withDatabase(args['database-url'], `atrium_bench_${Date.now()}`, (url) =>
      measure(`PostgreSQL${args['redis-url'] ? ' + Redis' : ''}`, url, args['redis-url']),
    ),
  );
}
runs.forEach(report);
