import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

/** Trims surrounding white space from string input. */
export const Trim = () =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

const optionally = (optional: boolean, ...decorators: PropertyDecorator[]) =>
  applyDecorators(...(optional ? [IsOptional(), ...decorators] : decorators));

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
