import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Logger } from '@nestjs/common';
import { type AppConfig, dataPath } from '../../config/app-config.js';

/**
 * The secret-box port: seals short secrets (provider API keys) for storage at
 * rest and opens them again. A sealed value is text, safe for a varchar column,
 * and opening anything that was altered, truncated or sealed under another key
 * throws SecretBoxError instead of returning garbage. It also signs short
 * messages (signed links), under a key of its own derived from the same secret,
 * so every instance sharing SECRETS_KEY verifies what another signed.
 */
export abstract class SecretBox {
  abstract seal(plaintext: string): string;
  abstract open(sealed: string): string;
  /** A MAC of the message, base64url. */
  abstract sign(message: string): string;
  /** Whether the signature is the message's (in constant time). */
  abstract verify(message: string, signature: string): boolean;
}

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

const SECRETS_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The format of every value sealed today; a new key or cipher gets a new version, so old values still open. */
const VERSION = 'v1';
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * AES-256-GCM with a random 96-bit IV per seal. Sealed values read
 * `v1.<iv>.<tag>.<ciphertext>`, each part base64url; the version is bound into
 * the authentication tag, so it cannot be swapped either.
 */
export class AesGcmSecretBox extends SecretBox {
  readonly #key: Buffer;
  readonly #signingKey: Buffer;

  constructor(key: Buffer) {
    super();
    if (key.length !== SECRETS_KEY_BYTES) throw new Error(`The secrets key must be ${SECRETS_KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
    this.#signingKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'atrium signing v1', 32));
  }

  sign(message: string): string {
    return createHmac('sha256', this.#signingKey).update(message).digest('base64url');
  }

  verify(message: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(message));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(VERSION));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return `${VERSION}.${iv.toString('base64url')}.${tag.toString('base64url')}.${ciphertext.toString('base64url')}`;
  }

  open(sealed: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION) {
      throw new SecretBoxError(`Not a sealed secret (expected the ${VERSION} format)`);
    }
    if (!parts.slice(1).every((part) => BASE64URL.test(part))) throw new SecretBoxError('Malformed sealed secret');
    const [iv, tag, ciphertext] = parts.slice(1).map((part) => Buffer.from(part, 'base64url'));
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError('Malformed sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(VERSION));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError('The sealed secret was altered or sealed with another key');
    }
  }
}

export const SECRETS_KEY_FILE = 'secrets.key';

/**
 * The key secrets are sealed with: SECRETS_KEY when set (required in
 * production). Elsewhere a random key is generated once and kept in
 * DATA_DIR/secrets.key (owner-only), or only in memory for DATA_DIR=memory;
 * either way a warning says it must be set before running several instances,
 * which would otherwise each hold a different key.
 */
export async function loadSecretsKey(
  config: Pick<AppConfig, 'secretsKey' | 'isProduction'> & { database: Pick<AppConfig['database'], 'dataDir'> },
  logger: Pick<Logger, 'warn'> = new Logger('SecretBox'),
): Promise<Buffer> {
  if (config.secretsKey) return config.secretsKey;
  if (config.isProduction) throw new Error('SECRETS_KEY is required when NODE_ENV=production');
  const path = dataPath(config.database.dataDir, SECRETS_KEY_FILE);
  if (!path) {
    logger.warn(
      'SECRETS_KEY is not set: secrets are sealed with a key kept in memory only, so they cannot be opened after a restart or by another instance',
    );
    return randomBytes(SECRETS_KEY_BYTES);
  }
  const key = (await readKeyFile(path)) ?? (await createKeyFile(path));
  logger.warn(
    `SECRETS_KEY is not set: secrets are sealed with the key in ${path}. Set SECRETS_KEY (the same on every instance) before running more than one`,
  );
  return key;
}

async function readKeyFile(path: string): Promise<Buffer | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== SECRETS_KEY_BYTES) {
    throw new Error(`${path} does not hold a ${SECRETS_KEY_BYTES}-byte key (base64); restore it or set SECRETS_KEY`);
  }
  return key;
}

async function createKeyFile(path: string): Promise<Buffer> {
  await mkdir(dirname(path), { recursive: true });
  const key = randomBytes(SECRETS_KEY_BYTES);
  try {
    // Base64, so the value can be copied into SECRETS_KEY as it is. 'wx': never replace a key another process wrote.
    await writeFile(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readKeyFile(path))!;
  }
}
