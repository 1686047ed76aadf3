import { CreateTenants1763780000000 } from './1763780000000-create-tenants.js';
import { CreateUsersAndSessions1763790000000 } from './1763790000000-create-users-and-sessions.js';
import { CreateMailAndOneTimeTokens1763800000000 } from './1763800000000-create-mail-and-one-time-tokens.js';
import { CreateApiKeys1763810000000 } from './1763810000000-create-api-keys.js';
import { TenantIsolationAndIdentityHardening1764600000000 } from './1764600000000-tenant-isolation-and-identity-hardening.js';
import { ApiKeyCreatedAtOnInsert1764650000000 } from './1764650000000-api-key-created-at-on-insert.js';
import { CreateJobs1764700000000 } from './1764700000000-create-jobs.js';
import { CreateBilling1764800000000 } from './1764800000000-create-billing.js';
import { MeteringFunctions1764900000000 } from './1764900000000-metering-functions.js';
import { CreateGateway1765000000000 } from './1765000000000-create-gateway.js';
import { CreateMediaAndVideos1765100000000 } from './1765100000000-create-media-and-videos.js';
import { CreateKnowledge1765200000000 } from './1765200000000-create-knowledge.js';
import { KnowledgeSearchFunctions1765300000000 } from './1765300000000-knowledge-search-functions.js';
import { RecordGenerationFunction1765310000000 } from './1765310000000-record-generation-function.js';
import { RecordUsedFunction1765320000000 } from './1765320000000-record-used-function.js';
import { IngestEventsFunction1765330000000 } from './1765330000000-ingest-events-function.js';
import { HoldsOnOtherMeters1765340000000 } from './1765340000000-holds-on-other-meters.js';
import { TenantLexemes1765350000000 } from './1765350000000-tenant-lexemes.js';
import { ChargeCovered1765360000000 } from './1765360000000-charge-covered.js';

/** Every migration, in order. A new migration file is added here once and never edited after it lands. */
export const migrations = [
  CreateTenants1763780000000,
  CreateUsersAndSessions1763790000000,
  CreateMailAndOneTimeTokens1763800000000,
  CreateApiKeys1763810000000,
  TenantIsolationAndIdentityHardening1764600000000,
  ApiKeyCreatedAtOnInsert1764650000000,
  CreateJobs1764700000000,
  CreateBilling1764800000000,
  MeteringFunctions1764900000000,
  CreateGateway1765000000000,
  CreateMediaAndVideos1765100000000,
  CreateKnowledge1765200000000,
  KnowledgeSearchFunctions1765300000000,
  RecordGenerationFunction1765310000000,
  RecordUsedFunction1765320000000,
  IngestEventsFunction1765330000000,
  HoldsOnOtherMeters1765340000000,
  TenantLexemes1765350000000,
  ChargeCovered1765360000000,
];
