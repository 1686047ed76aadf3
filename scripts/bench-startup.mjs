// Measures seconds from starting the built server (node dist/src/main.js, what
// `npm run start:prod` runs) to the first 200 from /health/ready, on the embedded
// database: a first start on an empty DATA_DIR (creates and migrates the database)
// and a restart on the same DATA_DIR. Usage: npm run build && node scripts/bench-startup.mjs [runs]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[2] ?? 3);
const port = 3990;

async function timeToReady(dataDir) {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      DATABASE_URL: '',
      REDIS_URL: '',
    },
    stdio: 'ignore',
  });
  const exited = new Promise((done) => child.once('exit', done));
  try {
    for (let i = 0; i < 1200; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
        if (res.ok) return (performance.now() - started) / 1000;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('server did not become ready within 30 s');
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const first = [];
const restart = [];
for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-bench-'));
  try {
    first.push(await timeToReady(dir));
    restart.push(await timeToReady(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(2)} s (runs: ${xs.map((x) => x.toFixed(2)).join(', ')})`;
console.log(`start to ready, empty DATA_DIR: ${fmt(first)}`);
console.log(`start to ready, existing DATA_DIR: ${fmt(restart)}`);
