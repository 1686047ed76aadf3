import { type ValidationError, ValidationPipe } from '@nestjs/common';
import { CommonError, CommonErrorCode, type FieldError } from '../errors/app-error.js';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own: FieldError[] = error.constraints ? [{ field, messages: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** Strict validation: unknown fields are refused, and strings are never implicitly coerced. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const fieldErrors = flatten(errors);
      const detail = `Validation failed for ${fieldErrors.map((e) => e.field).join(', ')}.`;
      return new CommonError(CommonErrorCode.VALIDATION_FAILED, detail, { errors: fieldErrors });
    },
  });
}
