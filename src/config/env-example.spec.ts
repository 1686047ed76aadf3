import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { getMetadataStorage } from 'class-validator';
import { EnvironmentVariables } from './app-config.js';

const settings = [
  ...new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
      .map((m) => m.propertyName),
  ),
].sort();

describe('documented settings', () => {
  it('lists every setting in .env.example', () => {
    const listed = readFileSync('.env.example', 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => line.split('=')[0])
      .sort();
    expect(listed).toEqual(settings);
  });

  it('describes every setting in the README', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(settings.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
  });
});
