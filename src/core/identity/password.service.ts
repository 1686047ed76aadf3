import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { dictionary } from '@zxcvbn-ts/language-common';
import bcrypt from 'bcrypt';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { AuthError, AuthErrorCode } from './auth.errors.js';

const COMMON_PASSWORDS = new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));

@Injectable()
export class PasswordService {
  /** A real hash to compare against when the account does not exist, so timing does not tell. */
  private readonly decoy: Promise<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.decoy = bcrypt.hash('decoy-password-for-timing', this.config.auth.bcryptCost);
  }

  /**
   * Hashes a password a person chooses, refusing the most common ones (length is
   * checked by the DTOs, 8..128). Every place that sets a user's password goes through here.
   */
  hashNew(password: string): Promise<string> {
    if (password.trim().length === 0) {
      throw new AuthError(AuthErrorCode.PASSWORD_REJECTED, 'A password cannot be blank or only white space.');
    }
    if (COMMON_PASSWORDS.has(password.toLowerCase())) {
      throw new AuthError(AuthErrorCode.PASSWORD_REJECTED, 'This password is too common; choose another one.');
    }
    return this.hash(password);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(prehash(password), this.config.auth.bcryptCost);
  }

  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    if (!hash) {
      await bcrypt.compare(prehash(password), await this.decoy);
      return false;
    }
    return bcrypt.compare(prehash(password), hash);
  }
}

/**
 * bcrypt reads only the first 72 bytes; hashing first makes every byte of a long
 * password count. Base64 keeps NUL bytes out of bcrypt's input.
 */
function prehash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('base64');
}
