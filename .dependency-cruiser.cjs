// Module layering, checked in CI (npm run lint): the identity/tenancy core below, feature modules
// above, and imports only downward. A failure here is an upward import, a feature importing another
// feature, or a cycle.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Modules that import each other cannot be understood, tested or moved apart.',
      severity: 'error',
      from: { path: '^src' },
      to: { circular: true },
    },
    {
      name: 'core-below-features',
      comment: 'src/core is the layer every feature builds on; it never reaches up into a feature.',
      severity: 'error',
      from: { path: '^src/(core|config|database)/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'features-do-not-import-each-other',
      comment:
        'A feature module uses what the core provides, not another feature; the layers above billing are the ' +
        'generation gateway and, on it, the knowledge bases (below).',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/', pathNot: '^src/modules/(gateway|knowledge)/' },
      to: { path: '^src/modules/', pathNot: '^src/modules/$1/' },
    },
    {
      name: 'the-gateway-is-built-on-billing',
      comment: 'Every gateway call is metered through billing (rate limits, reservations, usage); nothing else.',
      severity: 'error',
      from: { path: '^src/modules/gateway/' },
      to: { path: '^src/modules/', pathNot: '^src/modules/(gateway|billing)/' },
    },
    {
      name: 'knowledge-is-built-on-the-gateway',
      comment: 'Knowledge bases embed through the gateway (metered) and hold quotas through billing; nothing else.',
      severity: 'error',
      from: { path: '^src/modules/knowledge/' },
      to: { path: '^src/modules/', pathNot: '^src/modules/(knowledge|gateway|billing)/' },
    },
    {
      name: 'config-is-a-leaf',
      comment: 'Configuration is read by everything and reads nothing of the application.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/(core|database|modules)/' },
    },
    {
      name: 'app-code-does-not-import-tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['src/metadata\\.ts$', '\\.spec\\.ts$'] },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
