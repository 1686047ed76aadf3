import multipart from '@fastify/multipart';
import { applyDecorators } from '@nestjs/common';
import { ApiConsumes } from '@nestjs/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CommonError, CommonErrorCode } from '../errors/app-error.js';
import { AddRouteConfig } from './route-config.js';

const ACCEPTS_UPLOADS = 'acceptsUploads';
const MULTIPART = /^\s*multipart\//i;

/** Limits of one multipart request: a few text fields and one file. */
const LIMITS = { files: 1, fields: 20, fieldSize: 64 * 1024, parts: 21, headerPairs: 100 };

/** The route takes multipart/form-data (a file and text fields) besides JSON. */
export const AcceptsUploads = () =>
  applyDecorators(AddRouteConfig({ [ACCEPTS_UPLOADS]: true }), ApiConsumes('multipart/form-data'));

/**
 * Parses multipart/form-data, but only on routes that declare AcceptsUploads:
 * anywhere else such a body answers 415 before it is read, as any other
 * non-JSON body does. The file is read in the handler, after the guards, so an
 * unauthorised upload is never stored.
 */
export async function registerUploads(fastify: FastifyInstance): Promise<void> {
  await fastify.register(multipart, { limits: LIMITS });
  // A callback hook: an async one costs a promise on every request, uploads or not.
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    const contentType = request.headers['content-type'];
    // By the header: the multipart parser, which marks the request, runs after this hook.
    if (contentType !== undefined && MULTIPART.test(contentType) && !acceptsUploads(request)) {
      done(
        new CommonError(
          CommonErrorCode.UNSUPPORTED_MEDIA_TYPE,
          'The request content type is not supported; send application/json.',
        ),
      );
      return;
    }
    done(null, payload);
  });
}

function acceptsUploads(request: FastifyRequest): boolean {
  const config = request.routeOptions.config as unknown as Record<string, unknown> | undefined;
  return config?.[ACCEPTS_UPLOADS] === true;
}

export interface UploadedForm {
  fields: Record<string, string>;
  file: { fieldName: string; filename: string; bytes: Buffer; contentType: string } | null;
}

/** Reads a multipart request's text fields and its one file (at most `maxFileBytes`, or 413). */
export async function readForm(request: FastifyRequest, maxFileBytes: number): Promise<UploadedForm> {
  if (!request.isMultipart()) {
    throw new CommonError(CommonErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Send this request as multipart/form-data.');
  }
  const fields: Record<string, string> = {};
  let file: UploadedForm['file'] = null;
  for await (const part of request.parts({ limits: { ...LIMITS, fileSize: maxFileBytes } })) {
    if (part.type === 'file') {
      file = {
        fieldName: part.fieldname,
        filename: part.filename,
        bytes: await part.toBuffer(),
        contentType: part.mimetype,
      };
    } else if (typeof part.value === 'string') {
      fields[part.fieldname] = part.value;
    } else {
      throw new CommonError(CommonErrorCode.BAD_REQUEST, `The field ${part.fieldname} is not text.`);
    }
  }
  return { fields, file };
}
