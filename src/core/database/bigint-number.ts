import type { ValueTransformer } from 'typeorm';

/** bigint columns as numbers: amounts are integer micros, far below 2^53 (9 billion currency units). */
export const bigintNumber: ValueTransformer = {
  to: (value: unknown) => value,
  from: (value: unknown) => (value === null || value === undefined ? value : Number(value)),
};
