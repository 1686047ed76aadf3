import { EventEmitter } from 'node:events';
import type { PGliteInterface, Results } from '@electric-sql/pglite';
import { Mutex } from 'async-mutex';

type Callback<T> = (err: Error | null, result?: T) => void;
type Release = (err?: unknown) => void;

interface PgLikeResult {
  rows: unknown[];
  rowCount: number;
  command?: string;
  fields: Results['fields'];
}

function toPgResult(result: Results): PgLikeResult {
  return {
    rows: result.rows,
    rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length,
    command: result.command,
    fields: result.fields,
  };
}

/**
 * One checked-out "connection": all queries go to the single PGlite session.
 * Statements without parameters may hold several commands (migrations), so they
 * go through `exec`; TypeORM reads the last statement's result.
 */
class PgliteClient extends EventEmitter {
  constructor(private readonly db: PGliteInterface) {
    super();
  }

  async query(text: string, params?: unknown[] | Callback<PgLikeResult>, callback?: Callback<PgLikeResult>) {
    const cb = typeof params === 'function' ? params : callback;
    const values = typeof params === 'function' ? undefined : params;
    try {
      let result: PgLikeResult;
      if (values && values.length > 0) {
        result = toPgResult(await this.db.query(text, values));
      } else {
        const all = await this.db.exec(text);
        result = all.length > 0 ? toPgResult(all[all.length - 1]) : { rows: [], rowCount: 0, fields: [] };
      }
      cb?.(null, result);
      return result;
    } catch (err) {
      cb?.(err as Error);
      throw err;
    }
  }
}

/** One lock per PGlite instance, shared by every pool over it. */
const sessionLocks = new WeakMap<PGliteInterface, Mutex>();

function sessionLock(db: PGliteInterface): Mutex {
  let lock = sessionLocks.get(db);
  if (!lock) {
    lock = new Mutex();
    sessionLocks.set(db, lock);
  }
  return lock;
}

/**
 * A `pg.Pool` look-alike over one PGlite instance, for TypeORM's postgres driver.
 *
 * PGlite is a single session, so a checked-out client is exclusive: the next
 * `connect()` waits until the previous holder releases it. TypeORM holds a
 * client for the whole life of a query runner, so transactions from concurrent
 * requests queue up instead of interleaving their statements. The lock belongs
 * to the PGlite instance, not to the pool, so several pools over one instance
 * (app instances sharing an embedded database) queue up the same way.
 */
export class PglitePool extends EventEmitter {
  private readonly lock: Mutex;
  private readonly client: PgliteClient;
  private ended = false;

  constructor(
    private readonly db: PGliteInterface,
    private readonly onEnd: () => Promise<void>,
  ) {
    super();
    this.lock = sessionLock(db);
    this.client = new PgliteClient(db);
  }

  connect(
    callback?: (err: Error | null, client?: PgliteClient, release?: Release) => void,
  ): Promise<PgliteClient> | void {
    const acquire = async (): Promise<[PgliteClient, Release]> => {
      if (this.ended) throw new Error('The embedded database is closed');
      await this.db.waitReady;
      const unlock = await this.lock.acquire();
      let released = false;
      const release: Release = () => {
        if (released) return;
        released = true;
        unlock();
      };
      if (this.db.closed) {
        release();
        throw new Error('The embedded database is closed');
      }
      return [this.client, release];
    };
    if (!callback) return acquire().then(([client]) => client);
    acquire().then(
      ([client, release]) => callback(null, client, release),
      (err: Error) => callback(err),
    );
  }

  async query(text: string, params?: unknown[]) {
    return this.lock.runExclusive(() => this.client.query(text, params));
  }

  end(callback?: (err?: Error) => void): Promise<void> {
    this.ended = true;
    const done = this.lock.runExclusive(() => this.onEnd());
    if (callback) done.then(() => callback(), callback);
    return done;
  }

  get totalCount() {
    return 1;
  }

  get idleCount() {
    return this.lock.isLocked() ? 0 : 1;
  }

  get waitingCount() {
    return 0;
  }
}

/** The `driver` object TypeORM's postgres driver loads instead of `pg`. */
export function pgliteDriver(db: PGliteInterface, onEnd: () => Promise<void>) {
  return {
    Pool: class {
      constructor() {
        return new PglitePool(db, onEnd);
      }
    },
  };
}
