import { Global, Module } from '@nestjs/common';
import { MailOutboxRepository } from './mail-outbox.repository.js';
import { MailService } from './mail.service.js';

@Global()
@Module({ providers: [MailOutboxRepository, MailService], exports: [MailService] })
export class MailModule {}
