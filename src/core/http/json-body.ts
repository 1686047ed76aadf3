import type { FastifyInstance } from 'fastify';
import { CommonError, CommonErrorCode } from '../errors/app-error.js';

/** Deeper JSON is refused before it is parsed: nothing the API takes nests anywhere near this. */
export const MAX_JSON_DEPTH = 32;

export type JsonDefect = 'too_deep' | 'nul';

/**
 * One linear pass over a JSON text, before parsing: the nesting depth (so a
 * deeply nested body cannot exhaust the stack of validation or the parser) and
 * `\u0000` escapes inside strings (PostgreSQL refuses NUL in text).
 */
export function inspectJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonDefect | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) {
        if (text.charCodeAt(i + 1) === 0x75 /* u */ && text.startsWith('0000', i + 2)) return 'nul';
        i++;
      } else if (c === 0x22 /* " */) {
        inString = false;
      }
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) return 'too_deep';
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return null;
}

const DETAIL: Record<JsonDefect, string> = {
  too_deep: `The request body nests deeper than ${MAX_JSON_DEPTH} levels.`,
  nul: 'The request body contains a NUL character (\\u0000), which no field accepts.',
};

export function jsonDefectError(defect: JsonDefect): CommonError {
  return new CommonError(CommonErrorCode.BAD_REQUEST, DETAIL[defect]);
}

/** True when a string anywhere in the (query or path) value, parameter names included, holds a NUL character. */
export function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([name, inner]) => name.includes('\u0000') || containsNul(inner));
  }
  return false;
}

/**
 * Request bodies are JSON only: Fastify's plain-text parser is removed, so any
 * other content type answers 415 (routes that take uploads register their own
 * parsers), and JSON is inspected (depth, NUL) before Fastify's own
 * prototype-poisoning-safe parser runs.
 */
export function registerJsonBodyParser(fastify: FastifyInstance): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const defect = inspectJson(body as string);
    if (defect) {
      done(jsonDefectError(defect), undefined);
      return;
    }
    parse(request, body as string, done);
  });
}
