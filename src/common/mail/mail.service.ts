import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Repository } from 'typeorm';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { MailOutbox } from './mail-outbox.entity.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  tenantId?: string;
}

/**
 * The mailer port. Every message is recorded in the outbox; with SMTP_URL it is
 * also delivered over SMTP. A delivery failure is recorded, never thrown at the caller.
 * The log names recipient and subject only: bodies carry single-use tokens.
 */
@Injectable()
export class MailService {
  private readonly logger = new Logger('Mail');
  private readonly transport: Transporter | null;

  constructor(
    @InjectRepository(MailOutbox) private readonly outbox: Repository<MailOutbox>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.transport = config.mail.smtpUrl ? nodemailer.createTransport(config.mail.smtpUrl) : null;
  }

  async send(message: MailMessage): Promise<void> {
    const row = await this.outbox.save(
      this.outbox.create({
        tenantId: message.tenantId ?? null,
        to: message.to,
        subject: message.subject,
        body: message.text,
        transport: this.transport ? 'smtp' : 'outbox',
      }),
    );
    if (!this.transport) {
      this.logger.log({ message: `Mail recorded in the outbox: ${message.subject}`, to: message.to, mailId: row.id });
      return;
    }
    try {
      await this.transport.sendMail({
        from: this.config.mail.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
      await this.outbox.update({ id: row.id }, { sentAt: new Date() });
      this.logger.log({ message: `Mail sent: ${message.subject}`, to: message.to, mailId: row.id });
    } catch (err) {
      const error = (err as Error).message.slice(0, 500);
      await this.outbox.update({ id: row.id }, { error });
      this.logger.warn({ message: `Mail delivery failed: ${error}`, to: message.to, mailId: row.id });
    }
  }
}
