import { type ValidationError, ValidationPipe } from '@nestjs/common';
import { CommonError, CommonErrorCode, type FieldError } from '../errors/app-error.js';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own: FieldError[] = error.constraints ? [{ field, messages: Object.values(error.constraints) }] : [];
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** 400 VALIDATION_FAILED naming every refused field: the one refusal of every validating pipe. */
export function validationFailed(errors: FieldError[]): CommonError {
  return new CommonError(
    CommonErrorCode.VALIDATION_FAILED,
    `Validation failed for ${errors.map((e) => e.field).join(', ')}.`,
    { errors },
  );
}

/** Strict validation: unknown fields are refused, and strings are never implicitly coerced. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationFailed(flatten(errors)),
  });
}
