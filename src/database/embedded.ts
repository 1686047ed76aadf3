import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

/**
 * Opens the embedded database with the extensions the schema uses: pgvector,
 * which the knowledge bases' vector index needs (on PostgreSQL it is used
 * when the server has it).
 */
export function createEmbedded(dataDir?: string, options: PGliteOptions = {}): Promise<PGlite> {
  return PGlite.create(dataDir, { ...options, extensions: { vector, ...options.extensions } });
}
