import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/', 'src/metadata.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: {
      // Lets consistent-type-imports keep value imports for types that decorator metadata reads (Nest DI).
      parserOptions: { emitDecoratorMetadata: true, experimentalDecorators: true },
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Blob: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    // Only repositories, entities and the database layer touch TypeORM: services and controllers
    // reach data through repositories, so tenant scoping and the unit of work cannot be bypassed.
    files: ['src/**/*.ts'],
    ignores: [
      'src/**/*.repository.ts',
      'src/**/*.entity.ts',
      'src/**/*.module.ts',
      'src/database/**',
      'src/core/database/**',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'typeorm', message: 'Reach data through a repository (src/**/*.repository.ts).' },
            { name: '@nestjs/typeorm', message: 'Reach data through a repository (src/**/*.repository.ts).' },
          ],
          patterns: [{ group: ['typeorm/*'], message: 'Reach data through a repository (src/**/*.repository.ts).' }],
        },
      ],
    },
  },
  {
    // Module files may register their entities (TypeOrmModule.forFeature), nothing more.
    files: ['src/**/*.module.ts'],
    ignores: ['src/database/**', 'src/core/database/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'typeorm', message: 'Reach data through a repository (src/**/*.repository.ts).' }],
          patterns: [{ group: ['typeorm/*'], message: 'Reach data through a repository (src/**/*.repository.ts).' }],
        },
      ],
    },
  },
  {
    files: ['scripts/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
