import type { PipeTransform } from '@nestjs/common';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import type { FieldError } from '../errors/app-error.js';
import { validationFailed } from './validation.pipe.js';

// Strict like the ValidationPipe: unknown fields refused, no coercion, no defaults filled in.
const ajv = new Ajv({ allErrors: true, strict: true, coerceTypes: false, useDefaults: false });
ajvFormats.default(ajv, ['uuid', 'date-time']);

/** `maxJsonBytes: n`: the value, written as JSON, takes at most n bytes (free-form metadata). */
const maxJsonBytes = Object.assign(
  (max: number, data: unknown): boolean => {
    if (Buffer.byteLength(JSON.stringify(data)) <= max) return true;
    maxJsonBytes.errors = [
      { keyword: 'maxJsonBytes', message: `must be an object of at most ${max} bytes as JSON`, params: { max } },
    ];
    return false;
  },
  { errors: [] as Partial<ErrorObject>[] },
);
ajv.addKeyword({ keyword: 'maxJsonBytes', schemaType: 'number', validate: maxJsonBytes });

function fieldErrors(errors: ErrorObject[]): FieldError[] {
  const byField = new Map<string, string[]>();
  for (const error of errors) {
    const path = error.instancePath.split('/').filter(Boolean);
    const params = error.params as { additionalProperty?: string; missingProperty?: string };
    const leaf = params.additionalProperty ?? params.missingProperty;
    if (leaf !== undefined) path.push(leaf);
    const name = path.at(-1) ?? 'body';
    const message =
      error.keyword === 'additionalProperties'
        ? `property ${name} should not exist`
        : error.keyword === 'required'
          ? `${name} is required`
          : `${name} ${error.message ?? 'is invalid'}`;
    const field = path.join('.') || 'body';
    byField.set(field, [...(byField.get(field) ?? []), message]);
  }
  return [...byField].map(([field, messages]) => ({ field, messages }));
}

/**
 * Validates a body against a JSON schema (compiled once, by ajv) for routes
 * where per-item DTO classes cost too much: a batch of a thousand items checks
 * in well under a millisecond. Refusals are the ValidationPipe's: 400
 * VALIDATION_FAILED with dotted field paths. As a pipe it runs after the guards,
 * so an unauthorised caller learns nothing about the body.
 */
export class JsonSchemaPipe<T> implements PipeTransform<unknown, T> {
  private readonly validate: ValidateFunction<T>;

  constructor(schema: object) {
    this.validate = ajv.compile<T>(schema);
  }

  transform(value: unknown): T {
    if (this.validate(value)) return value;
    throw validationFailed(fieldErrors(this.validate.errors ?? []));
  }
}
