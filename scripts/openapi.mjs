// Keeps the Swagger plugin metadata (src/metadata.ts) and the committed OpenAPI
// document (openapi.json) in step with the code.
//   node scripts/openapi.mjs generate   rewrite both
//   node scripts/openapi.mjs check      fail when either differs from what the code yields
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PluginMetadataGenerator } from '@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator.js';
import { ReadonlyVisitor } from '@nestjs/swagger/plugin';

const root = resolve(import.meta.dirname, '..');
const mode = process.argv[2];
if (mode !== 'generate' && mode !== 'check') {
  console.error('usage: node scripts/openapi.mjs generate|check');
  process.exit(2);
}

function generateMetadata(outputDir) {
  new PluginMetadataGenerator().generate({
    visitors: [
      new ReadonlyVisitor({ introspectComments: true, classValidatorShim: false, pathToSource: join(root, 'src') }),
    ],
    outputDir,
    filename: 'metadata.ts',
    tsconfigPath: 'tsconfig.build.json',
    printDiagnostics: false,
  });
  execFileSync(
    join(root, 'node_modules/.bin/prettier'),
    ['--config', join(root, '.prettierrc.json'), '--write', join(outputDir, 'metadata.ts')],
    {
      stdio: 'ignore',
    },
  );
  return readFileSync(join(outputDir, 'metadata.ts'), 'utf8');
}

async function generateDocument() {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const { loadConfig } = await import(join(root, 'dist/src/config/app-config.js'));
  const { createApp } = await import(join(root, 'dist/src/app.factory.js'));
  const { buildOpenApiDocument } = await import(join(root, 'dist/src/openapi.js'));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: 'memory', MIGRATIONS_RUN: 'false', LOG_LEVEL: 'error' });
  const app = await createApp({ config, logger: false });
  const document = await buildOpenApiDocument(app);
  await app.close();
  return `${JSON.stringify(document, null, 2)}\n`;
}

const tmp = mkdtempSync(join(tmpdir(), 'atrium-openapi-'));
try {
  const metadata = generateMetadata(mode === 'generate' ? join(root, 'src') : tmp);
  if (mode === 'check' && metadata !== readFileSync(join(root, 'src/metadata.ts'), 'utf8')) {
    console.error('src/metadata.ts is out of date: run `npm run openapi:generate` and commit the result.');
    process.exit(1);
  }
  const document = await generateDocument();
  if (mode === 'generate') {
    writeFileSync(join(root, 'openapi.json'), document);
    console.log('Wrote src/metadata.ts and openapi.json');
  } else if (document !== readFileSync(join(root, 'openapi.json'), 'utf8')) {
    console.error(
      'openapi.json differs from the API the code declares: run `npm run openapi:generate` and commit the result.',
    );
    process.exit(1);
  } else {
    console.log('openapi.json and src/metadata.ts match the code');
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
