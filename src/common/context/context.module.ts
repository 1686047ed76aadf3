import { Global, Module } from '@nestjs/common';
import { PrincipalCache } from '../auth/principal-cache.js';
import { RequestContext } from './request-context.js';

@Global()
@Module({ providers: [RequestContext, PrincipalCache], exports: [RequestContext, PrincipalCache] })
export class ContextModule {}
