import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { RequestContext } from '../context/request-context.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import type { MailOutbox } from './mail-outbox.entity.js';
import { MailOutboxRepository } from './mail-outbox.repository.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  tenantId?: string;
}

const MAX_ATTEMPTS = 5;
const RETRY_SWEEP_MS = 60_000;

/**
 * The mailer port. Every message is written to the outbox in the caller's unit
 * of work, so nothing is sent for a change that rolls back; delivery over SMTP
 * (when SMTP_URL is set) starts once the change commits, and a periodic sweep
 * retries messages whose delivery failed or was cut short by a crash. A
 * delivery failure is recorded, never thrown at the caller. The log names
 * recipient and subject only: bodies carry single-use tokens.
 */
@Injectable()
export class MailService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Mail');
  private readonly transport: Transporter | null;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly outbox: MailOutboxRepository,
    private readonly uow: UnitOfWork,
    private readonly context: RequestContext,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.transport = config.mail.smtpUrl ? nodemailer.createTransport(config.mail.smtpUrl) : null;
  }

  onModuleInit(): void {
    if (!this.transport) return;
    this.sweeper = setInterval(() => void this.retryUndelivered(), RETRY_SWEEP_MS);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  async send(message: MailMessage): Promise<void> {
    const row = await this.outbox.insert({
      tenantId: message.tenantId ?? null,
      to: message.to,
      subject: message.subject,
      body: message.text,
      transport: this.transport ? 'smtp' : 'outbox',
    });
    this.uow.afterCommit(() => this.deliver(row));
  }

  /** Delivers messages that are still unsent a minute after they were written. */
  async retryUndelivered(): Promise<void> {
    try {
      const rows = await this.context.runInTenantContext(undefined, () =>
        this.outbox.claimUndelivered(MAX_ATTEMPTS, RETRY_SWEEP_MS, 20),
      );
      for (const row of rows) await this.deliver(row);
    } catch (err) {
      this.logger.warn(`Mail retry sweep failed: ${(err as Error).message}`);
    }
  }

  private async deliver(row: MailOutbox): Promise<void> {
    if (!this.transport) {
      this.logger.log({ message: `Mail recorded in the outbox: ${row.subject}`, to: row.to, mailId: row.id });
      return;
    }
    try {
      await this.transport.sendMail({ from: this.config.mail.from, to: row.to, subject: row.subject, text: row.body });
      await this.outbox.markSent(row.id);
      this.logger.log({ message: `Mail sent: ${row.subject}`, to: row.to, mailId: row.id });
    } catch (err) {
      const error = (err as Error).message.slice(0, 500);
      await this.outbox.markFailed(row.id, error).catch(() => undefined);
      this.logger.warn({ message: `Mail delivery failed: ${error}`, to: row.to, mailId: row.id });
    }
  }
}
