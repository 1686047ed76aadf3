import type { LoggerService, LogLevel } from '@nestjs/common';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig } from '../../config/app-config.js';
import { AsyncContext } from '../context/async-context.js';

const SENSITIVE_KEY = /authorization|password|passwd|secret|token|api[-_]?key|cookie|credential/i;
const REDACTED = '[REDACTED]';
/** Buffered JSON output is flushed at least this often, so lines never wait long at low traffic. */
const FLUSH_INTERVAL_MS = 200;

/** Replaces the value of every sensitive-looking key, at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object' || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SENSITIVE_KEY.test(key) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

const PINO_LEVEL: Record<AppConfig['log']['level'], Level> = {
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Adds the current request id (and, once known, the tenant) to every line written inside a request. */
function requestFields(): Record<string, unknown> {
  const store = AsyncContext.current();
  if (!store) return {};
  return store.tenantId ? { requestId: store.requestId, tenantId: store.tenantId } : { requestId: store.requestId };
}

let isoMillis = 0;
let isoString = '';

/** The ISO timestamp, formatted once per millisecond however many lines share it. */
function timestamp(): string {
  const now = Date.now();
  if (now !== isoMillis) {
    isoMillis = now;
    isoString = new Date(now).toISOString();
  }
  return `,"timestamp":"${isoString}"`;
}

/**
 * Collects lines and hands them to sonic-boom about 4 KB at a time, which it
 * writes synchronously (handling partial writes and a full pipe). Handing it
 * single lines with a minimum length instead costs a byte count of everything
 * buffered on every line, and an asynchronous write per batch costs more than
 * it saves.
 */
class LineBatches implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;

  constructor(
    private readonly out: { write(data: string): boolean },
    private readonly batchChars = 4096,
  ) {}

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= this.batchChars) this.flush();
  }

  /** Writes what is collected; the write is synchronous, so `done` runs once it is out. */
  flush(done?: () => void): void {
    if (this.lines.length > 0) {
      const batch = this.lines.join('');
      this.lines = [];
      this.chars = 0;
      this.out.write(batch);
    }
    done?.();
  }
}

/**
 * The process logger: pino, writing JSON lines (buffered, flushed every
 * FLUSH_INTERVAL_MS and at exit) or readable lines (LOG_FORMAT=pretty). It is
 * kept lean for the access log's one line per request; AppLogger adds the
 * request fields and redaction to everything else.
 */
export function createPino(config: AppConfig, destination?: DestinationStream): Logger {
  let stream = destination;
  if (!stream && config.log.format === 'pretty') {
    stream = pretty({
      sync: true,
      colorize: process.stdout.isTTY,
      messageKey: 'message',
      timestampKey: 'timestamp',
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'service',
      singleLine: true,
    });
  }
  if (!stream) {
    const batches = new LineBatches(pino.destination({ dest: 1, sync: true }));
    setInterval(() => batches.flush(), FLUSH_INTERVAL_MS).unref();
    process.once('exit', () => batches.flush());
    stream = batches;
  }
  return pino(
    {
      level: PINO_LEVEL[config.log.level],
      messageKey: 'message',
      base: { service: 'atrium' },
      timestamp,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

const NEST_TO_PINO: Record<LogLevel, Level> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Nest's logger interface over pino, used by every `new Logger(context)` in the
 * code. Nest passes the context as the last argument and, for errors, a stack
 * before it; objects become structured fields, with the request's id and tenant
 * added and every sensitive-looking field redacted at any depth.
 */
export class AppLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]) {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]) {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]) {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]) {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]) {
    this.write('verbose', message, params);
  }
  fatal(message: unknown, ...params: unknown[]) {
    this.write('fatal', message, params);
  }

  /** Writes whatever is buffered (called at shutdown). */
  flush(): void {
    this.pino.flush();
  }

  private write(level: LogLevel, message: unknown, params: unknown[]) {
    const pinoLevel = NEST_TO_PINO[level];
    if (!this.pino.isLevelEnabled(pinoLevel)) return;
    const context = typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const stack = level === 'error' && typeof params[0] === 'string' ? (params.shift() as string) : undefined;
    const fields: Record<string, unknown> =
      message !== null && typeof message === 'object' && !(message instanceof Error)
        ? { ...(message as Record<string, unknown>) }
        : { message: message instanceof Error ? message.message : String(message) };
    if (message instanceof Error) fields.stack = message.stack;
    if (stack) fields.stack ??= stack;
    if (context) fields.context = context;
    fields.message ??= '';
    this.pino[pinoLevel]({ ...requestFields(), ...(redact(fields) as Record<string, unknown>) });
  }
}
