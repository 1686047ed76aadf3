import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsEmail,
  IsInt,
  IsObject,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

/** Trims surrounding white space from string input. */
export const Trim = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

/**
 * A body field that may be left out, but not sent as null: no field of the API
 * is nullable, and `IsOptional` would pass null on to the service unvalidated.
 */
export const Optional = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

const optionally = (optional: boolean, ...decorators: PropertyDecorator[]) =>
  applyDecorators(...(optional ? [Optional(), ...decorators] : decorators));

/** An e-mail address (trimmed, at most 320 characters). */
export const EmailField = ({ optional = false, description }: { optional?: boolean; description?: string } = {}) =>
  applyDecorators(
    (optional ? ApiPropertyOptional : ApiProperty)({ example: 'ada@example.com', description }),
    optionally(optional, Trim(), IsEmail(), MaxLength(320)),
  );

/** A display name (trimmed, 1..200 characters). */
export const NameField = ({
  optional = false,
  description,
  example = 'Ada Lovelace',
}: { optional?: boolean; description?: string; example?: string } = {}) =>
  applyDecorators(
    (optional ? ApiPropertyOptional : ApiProperty)({ example, description }),
    optionally(optional, Trim(), IsString(), MinLength(1), MaxLength(200)),
  );

/** A password being set: 8..128 characters (common ones are refused by the service). */
export const NewPasswordField = ({
  optional = false,
  description,
}: { optional?: boolean; description?: string } = {}) =>
  applyDecorators(
    (optional ? ApiPropertyOptional : ApiProperty)({ minLength: 8, maxLength: 128, description }),
    optionally(optional, IsString(), MinLength(8), MaxLength(128)),
  );

/** An integer in [min, max]. */
export const IntField = ({
  min,
  max,
  optional = false,
  description,
  default: byDefault,
}: {
  min: number;
  max: number;
  optional?: boolean;
  description?: string;
  default?: number;
}) =>
  applyDecorators(
    (optional ? ApiPropertyOptional : ApiProperty)({ minimum: min, maximum: max, default: byDefault, description }),
    optionally(optional, IsInt(), Min(min), Max(max)),
  );

/**
 * A nested object validated by its own DTO (with `each`: every element of an
 * array). IsObject is part of it: ValidateNested alone takes an array where an
 * object belongs, and validates that array's elements instead.
 */
export const Nested = (type: () => new () => object, { each = false }: { each?: boolean } = {}) =>
  applyDecorators(IsObject({ each }), ValidateNested({ each }), Type(type));
