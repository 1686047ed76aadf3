import { randomBytes } from 'node:crypto';
import { applyDecorators } from '@nestjs/common';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  validateSync,
} from 'class-validator';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'verbose'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export const SIGNUP_MODES = ['open', 'closed'] as const;

const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const toInt = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string' || value.trim() === '') return value;
  return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
};

/** Only the literal words true/false (and 1/0) count; anything else fails validation. */
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return value;
};

/** false, a hop count, or a comma-separated list of IPv4/IPv6 addresses and CIDR ranges. */
const TRUST_PROXY = /^(?:false|true|\d{1,2}|[0-9A-Fa-f:.]+(?:\/\d{1,3})?(?:\s*,\s*[0-9A-Fa-f:.]+(?:\/\d{1,3})?)*)$/;

/** Comma-separated provider API keys: printable characters, no spaces. */
const PROVIDER_KEYS = /^[\x21-\x2b\x2d-\x7e]+(?:\s*,\s*[\x21-\x2b\x2d-\x7e]+)*$/;

/** A provider's key pool: comma-separated keys, or unset. */
const ProviderKeysVariable = () =>
  applyDecorators(
    Transform(emptyToUndefined),
    IsOptional(),
    IsString(),
    Matches(PROVIDER_KEYS, { message: '$property must be comma-separated keys' }),
  );

/** An http(s) URL (a provider's API root, the public origin), or unset. */
const HttpUrlVariable = () =>
  applyDecorators(
    Transform(emptyToUndefined),
    IsOptional(),
    IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true }),
  );

/** The raw environment, as validated at boot. Names match the variables in .env.example. */
export class EnvironmentVariables {
  @IsIn(NODE_ENVS)
  NODE_ENV: (typeof NODE_ENVS)[number] = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @MinLength(1)
  HOST = '0.0.0.0';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true })
  DATABASE_URL?: string;

  @IsString()
  @MinLength(1)
  DATA_DIR = './data';

  @Transform(toBool)
  @IsBoolean()
  MIGRATIONS_RUN = true;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ protocols: ['redis', 'rediss'], require_tld: false, require_protocol: true })
  REDIS_URL?: string;

  @Matches(/^[A-Za-z0-9][A-Za-z0-9:_.-]{0,63}$/, {
    message: 'REDIS_PREFIX must be 1-64 letters, digits, ":", "_", "." or "-", starting with a letter or digit',
  })
  REDIS_PREFIX = 'atrium';

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(LOG_FORMATS)
  LOG_FORMAT?: (typeof LOG_FORMATS)[number];

  @Transform(emptyToUndefined)
  @ValidateIf((env: EnvironmentVariables) => env.NODE_ENV === 'production' || env.JWT_SECRET !== undefined)
  @IsString({ message: 'JWT_SECRET is required when NODE_ENV=production' })
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters long' })
  JWT_SECRET?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024 * 1024)
  BODY_LIMIT_BYTES = 1024 * 1024;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_TIMEOUT_MS = 10_000;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(86_400)
  JWT_ACCESS_TTL_SECONDS = 900;

  @Transform(toInt)
  @IsInt()
  @Min(300)
  @Max(31_536_000)
  JWT_REFRESH_TTL_SECONDS = 2_592_000;

  @Transform(toInt)
  @IsInt()
  @Min(4)
  @Max(15)
  BCRYPT_COST = 12;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsIn(SIGNUP_MODES)
  SIGNUP_MODE?: (typeof SIGNUP_MODES)[number];

  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: EnvironmentVariables) => env.SUPER_ADMIN_PASSWORD !== undefined || env.SUPER_ADMIN_EMAIL !== undefined,
  )
  @IsEmail({}, { message: 'SUPER_ADMIN_EMAIL must be an e-mail address (set together with SUPER_ADMIN_PASSWORD)' })
  SUPER_ADMIN_EMAIL?: string;

  @Transform(emptyToUndefined)
  @ValidateIf(
    (env: EnvironmentVariables) => env.SUPER_ADMIN_EMAIL !== undefined || env.SUPER_ADMIN_PASSWORD !== undefined,
  )
  @IsString({ message: 'SUPER_ADMIN_PASSWORD is required with SUPER_ADMIN_EMAIL' })
  @MinLength(8, { message: 'SUPER_ADMIN_PASSWORD must be at least 8 characters long' })
  @MaxLength(128, { message: 'SUPER_ADMIN_PASSWORD must be at most 128 characters long' })
  SUPER_ADMIN_PASSWORD?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  LOGIN_MAX_FAILURES = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  LOGIN_LOCKOUT_SECONDS = 60;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  LOGIN_RATE_LIMIT_PER_MINUTE = 30;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ protocols: ['smtp', 'smtps'], require_tld: false, require_protocol: true })
  SMTP_URL?: string;

  @IsString()
  @MinLength(3)
  MAIL_FROM = 'Atrium <no-reply@atrium.local>';

  @Transform(toBool)
  @IsBoolean()
  DATABASE_RLS = true;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60_000)
  PRINCIPAL_CACHE_TTL_MS = 2000;

  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(TRUST_PROXY, {
    message: 'TRUST_PROXY must be false, a hop count, or a comma-separated list of IP addresses or CIDR ranges',
  })
  TRUST_PROXY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters long' })
  METRICS_TOKEN?: string;

  @Transform(emptyToUndefined)
  @ValidateIf((env: EnvironmentVariables) => env.NODE_ENV === 'production' || env.SECRETS_KEY !== undefined)
  @IsString({ message: 'SECRETS_KEY is required when NODE_ENV=production' })
  @Matches(/^(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/, {
    message: 'SECRETS_KEY must be 32 bytes, as 64 hex characters or 44 base64 characters',
  })
  SECRETS_KEY?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'S3_BUCKET must be a valid bucket name' })
  S3_BUCKET?: string;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  S3_ENDPOINT?: string;

  @IsString()
  @MinLength(1)
  S3_REGION = 'us-east-1';

  @Transform(emptyToUndefined)
  @ValidateIf((env: EnvironmentVariables) => env.S3_BUCKET !== undefined || env.S3_ACCESS_KEY_ID !== undefined)
  @IsString({ message: 'S3_ACCESS_KEY_ID is required with S3_BUCKET' })
  S3_ACCESS_KEY_ID?: string;

  @Transform(emptyToUndefined)
  @ValidateIf((env: EnvironmentVariables) => env.S3_BUCKET !== undefined || env.S3_SECRET_ACCESS_KEY !== undefined)
  @IsString({ message: 'S3_SECRET_ACCESS_KEY is required with S3_BUCKET' })
  S3_SECRET_ACCESS_KEY?: string;

  @Transform(toBool)
  @IsBoolean()
  S3_FORCE_PATH_STYLE = true;

  @IsString()
  @Matches(/^[a-z][a-z0-9_-]{0,63}$/, { message: 'DEFAULT_PLAN must be a plan code' })
  DEFAULT_PLAN = 'free';

  @ProviderKeysVariable()
  OPENAI_API_KEYS?: string;

  @HttpUrlVariable()
  OPENAI_BASE_URL?: string;

  @ProviderKeysVariable()
  GEMINI_API_KEYS?: string;

  @HttpUrlVariable()
  GEMINI_BASE_URL?: string;

  @ProviderKeysVariable()
  ANTHROPIC_API_KEYS?: string;

  @HttpUrlVariable()
  ANTHROPIC_BASE_URL?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600_000)
  GATEWAY_TIMEOUT_MS = 60_000;

  /** The largest document a knowledge base takes. */
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024 * 1024)
  KB_MAX_FILE_BYTES = 20 * 1024 * 1024;

  /** Documents one instance processes at once. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(64)
  KB_CONCURRENCY = 2;

  /** How long a signed media link (an image's `url`) works. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(7 * 86_400)
  MEDIA_URL_TTL_SECONDS = 3600;

  /** The server's public origin for links it hands out (e.g. https://api.example.com); unset: the request's own. */
  @HttpUrlVariable()
  PUBLIC_URL?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(256)
  JOB_CONCURRENCY = 4;

  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(60_000)
  JOB_POLL_INTERVAL_MS = 1000;
}

/** What Fastify's `trustProxy` takes: false, a hop count, or addresses and ranges. */
export type TrustProxy = false | number | string[];

function trustProxyOf(value: string | undefined): TrustProxy {
  if (value === undefined || value === 'false') return false;
  // `true` would trust any X-Forwarded-For: only a count or an explicit list is accepted as trust.
  if (value === 'true')
    throw new ConfigValidationError(['TRUST_PROXY: use a hop count or a list of proxies, not true']);
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',').map((e) => e.trim());
  const bad = entries.filter((e) => {
    const [address, bits] = e.split('/');
    const family = isIP(address);
    if (family === 0) return true;
    return bits !== undefined && (Number(bits) > (family === 4 ? 32 : 128) || bits === '');
  });
  if (bad.length > 0)
    throw new ConfigValidationError([`TRUST_PROXY: not an IP address or CIDR range: ${bad.join(', ')}`]);
  return entries;
}

function keyList(value: string | undefined): string[] {
  return value === undefined ? [] : [...new Set(value.split(',').map((k) => k.trim()))];
}

function secretsKeyOf(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  return /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
}

export interface AppConfig {
  readonly env: EnvironmentVariables['NODE_ENV'];
  readonly isProduction: boolean;
  readonly http: {
    readonly port: number;
    readonly host: string;
    readonly bodyLimitBytes: number;
    readonly shutdownTimeoutMs: number;
    /** Which X-Forwarded-For hops to believe for the client IP (false: none, the socket address counts). */
    readonly trustProxy: TrustProxy;
    /** Bearer token that may read /metrics (super admins always may). */
    readonly metricsToken?: string;
  };
  readonly database: {
    /** PostgreSQL connection string; undefined means the embedded PGlite database. */
    readonly url?: string;
    /** Directory for the embedded database and files; 'memory' keeps PGlite in memory. */
    readonly dataDir: string;
    readonly migrationsRun: boolean;
    /** Tenant-scoped work runs as a role bound by row-level security policies (the backstop of scoping). */
    readonly rowLevelSecurity: boolean;
  };
  readonly redis: {
    readonly url?: string;
    /** Starts every Redis key and channel, so deployments sharing one Redis stay apart. */
    readonly prefix: string;
  };
  /** Without an SMTP URL, mail is recorded in the outbox table and the log only. */
  readonly mail: { readonly smtpUrl?: string; readonly from: string };
  readonly log: { readonly level: EnvironmentVariables['LOG_LEVEL']; readonly format: 'json' | 'pretty' };
  readonly auth: {
    /** JWT_SECRET, or outside production a random per-process secret (tokens die with the process). */
    readonly jwtSecret: string;
    readonly jwtSecretGenerated: boolean;
    /** How long a resolved principal may be reused: the backstop when a change event is lost. */
    readonly principalCacheTtlMs: number;
    readonly accessTtlSeconds: number;
    readonly refreshTtlSeconds: number;
    readonly bcryptCost: number;
    readonly signupOpen: boolean;
    readonly superAdmin?: { readonly email: string; readonly password: string };
    readonly loginMaxFailures: number;
    readonly loginLockoutSeconds: number;
    readonly loginRateLimitPerMinute: number;
  };
  /** 32-byte key sealing secrets at rest (provider keys); undefined outside production means a key under DATA_DIR. */
  readonly secretsKey?: Buffer;
  /** Object storage; without a bucket, files live under DATA_DIR/files. */
  readonly storage: {
    readonly s3?: {
      readonly bucket: string;
      readonly endpoint?: string;
      readonly region: string;
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly forcePathStyle: boolean;
    };
  };
  readonly jobs: { readonly concurrency: number; readonly pollIntervalMs: number };
  /** The plan new tenants are subscribed to. */
  readonly billing: { readonly defaultPlan: string };
  readonly knowledge: {
    /** The largest document accepted, in bytes. */
    readonly maxFileBytes: number;
    /** Documents processed at once per instance. */
    readonly concurrency: number;
  };
  readonly gateway: {
    /** Key pools applied at start (OPENAI_API_KEYS, GEMINI_API_KEYS); base URLs unset use the provider's own. */
    readonly pools: readonly {
      readonly kind: 'openai' | 'gemini' | 'anthropic';
      readonly baseUrl?: string;
      readonly keys: string[];
    }[];
    /** A call's deadline upstream, retries included. */
    readonly timeoutMs: number;
    /** Lifetime of a signed media link, in seconds. */
    readonly mediaUrlTtlSeconds: number;
    /** The origin links are built on, or undefined for the request's own. */
    readonly publicUrl?: string;
  };
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid environment configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

/**
 * Validates the environment and returns the typed configuration.
 * Throws ConfigValidationError naming every bad variable.
 */
export function loadConfig(source: NodeJS.ProcessEnv | Record<string, string | undefined>): AppConfig {
  // Only variables with a value count; every other environment variable is ignored.
  const raw = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined));
  const env = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { forbidUnknownValues: true });
  if (errors.length > 0) {
    const problems = errors.map((e) => {
      const messages = Object.values(e.constraints ?? {});
      const shown =
        /SECRET|PASSWORD|TOKEN|KEY/.test(e.property) || e.property.endsWith('_URL')
          ? ''
          : ` (got ${JSON.stringify(e.value)})`;
      return `${e.property}: ${messages.join('; ')}${shown}`;
    });
    throw new ConfigValidationError(problems);
  }
  const isProduction = env.NODE_ENV === 'production';
  const trustProxy = trustProxyOf(env.TRUST_PROXY);
  return Object.freeze({
    env: env.NODE_ENV,
    isProduction,
    http: {
      port: env.PORT,
      host: env.HOST,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      trustProxy,
      metricsToken: env.METRICS_TOKEN,
    },
    database: {
      url: env.DATABASE_URL,
      dataDir: env.DATA_DIR,
      migrationsRun: env.MIGRATIONS_RUN,
      rowLevelSecurity: env.DATABASE_RLS,
    },
    redis: { url: env.REDIS_URL, prefix: env.REDIS_PREFIX },
    mail: { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM },
    log: { level: env.LOG_LEVEL, format: env.LOG_FORMAT ?? (isProduction ? 'json' : 'pretty') },
    auth: {
      jwtSecret: env.JWT_SECRET ?? randomBytes(32).toString('base64'),
      jwtSecretGenerated: env.JWT_SECRET === undefined,
      principalCacheTtlMs: env.PRINCIPAL_CACHE_TTL_MS,
      accessTtlSeconds: env.JWT_ACCESS_TTL_SECONDS,
      refreshTtlSeconds: env.JWT_REFRESH_TTL_SECONDS,
      bcryptCost: env.BCRYPT_COST,
      signupOpen: (env.SIGNUP_MODE ?? (isProduction ? 'closed' : 'open')) === 'open',
      superAdmin:
        env.SUPER_ADMIN_EMAIL && env.SUPER_ADMIN_PASSWORD
          ? { email: env.SUPER_ADMIN_EMAIL, password: env.SUPER_ADMIN_PASSWORD }
          : undefined,
      loginMaxFailures: env.LOGIN_MAX_FAILURES,
      loginLockoutSeconds: env.LOGIN_LOCKOUT_SECONDS,
      loginRateLimitPerMinute: env.LOGIN_RATE_LIMIT_PER_MINUTE,
    },
    secretsKey: secretsKeyOf(env.SECRETS_KEY),
    storage: {
      s3: env.S3_BUCKET
        ? {
            bucket: env.S3_BUCKET,
            endpoint: env.S3_ENDPOINT,
            region: env.S3_REGION,
            accessKeyId: env.S3_ACCESS_KEY_ID!,
            secretAccessKey: env.S3_SECRET_ACCESS_KEY!,
            forcePathStyle: env.S3_FORCE_PATH_STYLE,
          }
        : undefined,
    },
    jobs: { concurrency: env.JOB_CONCURRENCY, pollIntervalMs: env.JOB_POLL_INTERVAL_MS },
    billing: { defaultPlan: env.DEFAULT_PLAN },
    knowledge: { maxFileBytes: env.KB_MAX_FILE_BYTES, concurrency: env.KB_CONCURRENCY },
    gateway: {
      pools: [
        { kind: 'openai' as const, baseUrl: env.OPENAI_BASE_URL, keys: keyList(env.OPENAI_API_KEYS) },
        { kind: 'gemini' as const, baseUrl: env.GEMINI_BASE_URL, keys: keyList(env.GEMINI_API_KEYS) },
        { kind: 'anthropic' as const, baseUrl: env.ANTHROPIC_BASE_URL, keys: keyList(env.ANTHROPIC_API_KEYS) },
      ].filter((pool) => pool.keys.length > 0),
      timeoutMs: env.GATEWAY_TIMEOUT_MS,
      mediaUrlTtlSeconds: env.MEDIA_URL_TTL_SECONDS,
      publicUrl: env.PUBLIC_URL?.replace(/\/+$/, ''),
    },
  });
}

/** Where an entry of DATA_DIR lives, or undefined when DATA_DIR=memory (nothing is kept on disk). */
export function dataPath(dataDir: string, entry: string): string | undefined {
  return dataDir === 'memory' ? undefined : resolve(dataDir, entry);
}
