import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { AesGcmSecretBox, loadSecretsKey, SECRETS_KEY_FILE, SecretBoxError } from './secret-box.js';

/** Flips one bit of the part of a sealed value at `index` (1: iv, 2: tag, 3: ciphertext). */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index], 'base64url');
  bytes[bytes.length - 1] ^= 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('AesGcmSecretBox', () => {
  const box = new AesGcmSecretBox(randomBytes(32));

  it('signs with a key of its own: the same key verifies, another key or message or a cut signature does not', () => {
    const key = randomBytes(32);
    const signature = new AesGcmSecretBox(key).sign('media/1:1700000000');
    expect(new AesGcmSecretBox(Buffer.from(key)).verify('media/1:1700000000', signature)).toBe(true);
    expect(box.verify('media/1:1700000000', signature)).toBe(false);
    expect(new AesGcmSecretBox(key).verify('media/2:1700000000', signature)).toBe(false);
    expect(new AesGcmSecretBox(key).verify('media/1:1700000000', signature.slice(0, -1))).toBe(false);
    expect(new AesGcmSecretBox(key).verify('media/1:1700000000', '')).toBe(false);
  });

  it('opens what it sealed, whatever the text', () => {
    for (const secret of ['sk-live-0123456789abcdef', '', 'ключ 🔑 with spaces', 'x'.repeat(10_000)]) {
      expect(box.open(box.seal(secret))).toBe(secret);
    }
  });

  it('writes the versioned text format and never repeats a ciphertext', () => {
    const a = box.seal('the same secret');
    const b = box.seal('the same secret');
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a.split('.')[1]).not.toBe(b.split('.')[1]);
    expect(a).not.toContain('the same secret');
  });

  it('refuses a value with any part altered', () => {
    const sealed = box.seal('sk-live-0123456789abcdef');
    for (const part of [1, 2, 3]) {
      expect(() => box.open(tamper(sealed, part))).toThrow(SecretBoxError);
      expect(() => box.open(tamper(sealed, part))).toThrow('altered or sealed with another key');
    }
    const truncated = sealed.slice(0, -2);
    expect(() => box.open(truncated)).toThrow(SecretBoxError);
  });

  it('refuses a value sealed under another key', () => {
    const other = new AesGcmSecretBox(randomBytes(32));
    expect(() => other.open(box.seal('sk-live-0123456789abcdef'))).toThrow(
      'The sealed secret was altered or sealed with another key',
    );
  });

  it('refuses what is not a sealed value at all', () => {
    const sealed = box.seal('secret');
    for (const foreign of [
      'sk-live-plaintext',
      '',
      sealed.replace(/^v1/, 'v2'),
      `${sealed}.extra`,
      sealed.replace(/\.[^.]+$/, '.not*base64'),
      `v1.${Buffer.alloc(8).toString('base64url')}.${sealed.split('.')[2]}.${sealed.split('.')[3]}`,
    ]) {
      expect(() => box.open(foreign)).toThrow(SecretBoxError);
    }
  });

  it('accepts only a 32-byte key', () => {
    expect(() => new AesGcmSecretBox(randomBytes(16))).toThrow('32 bytes');
  });
});

describe('loadSecretsKey', () => {
  let dataDir: string;
  const warnings: string[] = [];
  const logger = { warn: (message: string) => void warnings.push(message) };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'atrium-secrets-'));
    warnings.length = 0;
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('uses SECRETS_KEY when it is set, without a warning or a file', async () => {
    const secretsKey = randomBytes(32);
    const key = await loadSecretsKey({ secretsKey, isProduction: true, database: { dataDir } }, logger);
    expect(key.equals(secretsKey)).toBe(true);
    expect(warnings).toEqual([]);
    await expect(stat(join(dataDir, SECRETS_KEY_FILE))).rejects.toThrow();
  });

  it('refuses to make up a key in production', async () => {
    await expect(loadSecretsKey({ isProduction: true, database: { dataDir } }, logger)).rejects.toThrow(
      'SECRETS_KEY is required',
    );
  });

  it('generates a key once into DATA_DIR/secrets.key, readable by the owner only, and reuses it', async () => {
    const first = await loadSecretsKey({ isProduction: false, database: { dataDir } }, logger);
    const path = join(dataDir, SECRETS_KEY_FILE);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readFile(path, 'utf8')).trim(), 'base64').equals(first)).toBe(true);
    expect(warnings[0]).toContain('Set SECRETS_KEY');

    const again = await loadSecretsKey({ isProduction: false, database: { dataDir } }, logger);
    expect(again.equals(first)).toBe(true);
    const sealed = new AesGcmSecretBox(first).seal('survives a restart');
    expect(new AesGcmSecretBox(again).open(sealed)).toBe('survives a restart');
  });

  it('refuses a damaged key file rather than replacing it', async () => {
    await writeFile(join(dataDir, SECRETS_KEY_FILE), 'not a key\n');
    await expect(loadSecretsKey({ isProduction: false, database: { dataDir } }, logger)).rejects.toThrow(
      'does not hold a 32-byte key',
    );
  });

  it('keeps the key in memory only for DATA_DIR=memory', async () => {
    const key = await loadSecretsKey({ isProduction: false, database: { dataDir: 'memory' } }, logger);
    expect(key).toHaveLength(32);
    expect(warnings[0]).toContain('memory only');
  });
});
