import { describe, expect, it } from '@jest/globals';
import { ConfigValidationError, loadConfig } from './app-config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigValidationError);
    return (err as ConfigValidationError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      http: { port: 3000, host: '0.0.0.0', bodyLimitBytes: 1048576 },
      database: { url: undefined, dataDir: './data', migrationsRun: true },
      redis: { url: undefined, prefix: 'atrium' },
      log: { level: 'info', format: 'pretty' },
    });
  });

  it('reads typed values', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u@db:5432/atrium',
      REDIS_URL: 'redis://cache:6379',
      MIGRATIONS_RUN: 'false',
      LOG_FORMAT: 'json',
      BODY_LIMIT_BYTES: '2048',
      REDIS_PREFIX: 'atrium-eu:prod',
    });
    expect(config.http.port).toBe(8080);
    expect(config.database).toMatchObject({ url: 'postgres://u@db:5432/atrium', migrationsRun: false });
    expect(config.redis).toEqual({ url: 'redis://cache:6379', prefix: 'atrium-eu:prod' });
    expect(config.log.format).toBe('json');
    expect(config.http.bodyLimitBytes).toBe(2048);
  });

  it('names every bad variable at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      NODE_ENV: 'staging',
      LOG_FORMAT: 'xml',
      MIGRATIONS_RUN: 'maybe',
      DATABASE_URL: 'mysql://x',
      BODY_LIMIT_BYTES: '-1',
      REDIS_PREFIX: 'has spaces',
    });
    const names = problems.map((p) => p.split(':')[0]).sort();
    expect(names).toEqual([
      'BODY_LIMIT_BYTES',
      'DATABASE_URL',
      'LOG_FORMAT',
      'MIGRATIONS_RUN',
      'NODE_ENV',
      'PORT',
      'REDIS_PREFIX',
    ]);
  });

  it('requires a strong JWT_SECRET and a SECRETS_KEY in production, and never echoes them', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      expect.stringMatching(/^JWT_SECRET: .*required when NODE_ENV=production/),
      expect.stringMatching(/^SECRETS_KEY: .*required when NODE_ENV=production/),
    ]);
    const secretsKey = Buffer.alloc(32, 7).toString('base64');
    const problems = problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'short-secret', SECRETS_KEY: 'too-short' });
    expect(problems).toEqual([
      expect.stringMatching(/^JWT_SECRET: .*at least 32/),
      expect.stringMatching(/^SECRETS_KEY: .*32 bytes/),
    ]);
    expect(problems.join()).not.toMatch(/short-secret|too-short/);
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), SECRETS_KEY: secretsKey });
    expect(config.log.format).toBe('json');
    expect(config.secretsKey).toEqual(Buffer.alloc(32, 7));
  });

  it('reads TRUST_PROXY as off, a hop count, or a list of addresses and ranges', () => {
    expect(loadConfig({}).http.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).http.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).http.trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).http.trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
    ]);
    for (const bad of ['true', 'yes', '10.0.0.0/33', '300.1.1.1', 'proxy.local']) {
      expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(ConfigValidationError);
    }
  });

  it('treats empty optional values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', REDIS_URL: ' ' }).database.url).toBeUndefined();
  });

  it('reads provider key pools from the environment, de-duplicated, and refuses malformed ones without echoing them', () => {
    const config = loadConfig({
      OPENAI_API_KEYS: 'sk-one, sk-two,sk-one',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      GEMINI_API_KEYS: '',
    });
    expect(config.gateway.pools).toEqual([
      { kind: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', keys: ['sk-one', 'sk-two'] },
    ]);
    expect(config.gateway.timeoutMs).toBe(60_000);
    let problems: string[] = [];
    try {
      loadConfig({ GEMINI_API_KEYS: 'sk has spaces', OPENAI_BASE_URL: 'ftp://x' });
    } catch (err) {
      problems = (err as ConfigValidationError).problems;
    }
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['GEMINI_API_KEYS', 'OPENAI_BASE_URL']);
    expect(problems.join('\n')).toContain('GEMINI_API_KEYS must be comma-separated keys');
    expect(problems.join('\n')).not.toContain('sk has spaces');
  });
});
