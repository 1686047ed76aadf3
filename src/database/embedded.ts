import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { vector } from '@electric-sql/pglite-pgvector';

/**
 * Opens the embedded database with the extensions the schema uses: pgvector
 * for the knowledge bases' vector index and btree_gin for their full-text
 * index (on PostgreSQL each is used when the server has it).
 */
export function createEmbedded(dataDir?: string, options: PGliteOptions = {}): Promise<PGlite> {
  return PGlite.create(dataDir, { ...options, extensions: { vector, btree_gin, ...options.extensions } });
}
