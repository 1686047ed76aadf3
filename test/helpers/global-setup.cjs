// Jest runs global hooks through CommonJS, where the '.js' specifiers of our ESM
// sources must resolve to their '.ts' files (test files get this from moduleNameMapper).
const Module = require('node:module');

module.exports = async function globalSetup(...args) {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    try {
      return resolve.call(this, request, ...rest);
    } catch (err) {
      if (!/^\.{1,2}\/.*\.js$/.test(request)) throw err;
      return resolve.call(this, request.replace(/\.js$/, '.ts'), ...rest);
    }
  };
  try {
    await require('./global-setup.ts').default(...args);
  } finally {
    Module._resolveFilename = resolve;
  }
};
