// Jest 29 cannot require() an ES module, yet some CommonJS dependencies (Fastify's
// light-my-request and @fastify/static) require packages that now ship only as ESM.
// Before the run, each of those single-file packages is compiled to CommonJS into
// node_modules/.cache, and jest.config.js maps the package name to that copy.
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const ts = require('typescript');

const ESM_ONLY_PACKAGES = ['content-disposition', 'cookie'];
const CACHE_DIR = join(__dirname, '..', '..', 'node_modules', '.cache', 'atrium-jest');

function buildCommonJsCopies() {
  mkdirSync(CACHE_DIR, { recursive: true });
  for (const name of ESM_ONLY_PACKAGES) {
    const source = readFileSync(require.resolve(name), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(CACHE_DIR, `${name}.cjs`), outputText);
  }
}

module.exports = { ESM_ONLY_PACKAGES, buildCommonJsCopies };
