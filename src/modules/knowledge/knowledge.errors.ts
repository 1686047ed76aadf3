import { AppError, type ProblemExtensions } from '../../core/errors/app-error.js';

export enum KnowledgeErrorCode {
  KNOWLEDGE_BASE_NOT_FOUND = 'KNOWLEDGE_BASE_NOT_FOUND',
  DOCUMENT_NOT_FOUND = 'DOCUMENT_NOT_FOUND',
  UNSUPPORTED_DOCUMENT_TYPE = 'UNSUPPORTED_DOCUMENT_TYPE',
  UNKNOWN_LANGUAGE = 'UNKNOWN_LANGUAGE',
  UNKNOWN_EMBEDDING_MODEL = 'UNKNOWN_EMBEDDING_MODEL',
  NO_EMBEDDINGS = 'NO_EMBEDDINGS',
  DOCUMENT_BUSY = 'DOCUMENT_BUSY',
}

const STATUS = {
  KNOWLEDGE_BASE_NOT_FOUND: 404,
  DOCUMENT_NOT_FOUND: 404,
  UNSUPPORTED_DOCUMENT_TYPE: 415,
  UNKNOWN_LANGUAGE: 422,
  UNKNOWN_EMBEDDING_MODEL: 422,
  NO_EMBEDDINGS: 422,
  DOCUMENT_BUSY: 409,
} satisfies Record<KnowledgeErrorCode, number>;

export class KnowledgeError extends AppError {
  constructor(code: KnowledgeErrorCode, detail: string, extensions?: ProblemExtensions) {
    super(code, STATUS[code], detail, extensions);
  }
}
