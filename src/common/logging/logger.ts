import type { LoggerService, LogLevel } from '@nestjs/common';
import { ClsServiceManager } from 'nestjs-cls';
import winston from 'winston';
import type { AppConfig } from '../../config/app-config.js';

const SENSITIVE_KEY = /authorization|password|passwd|secret|token|api[-_]?key|cookie|credential/i;
const REDACTED = '[REDACTED]';

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

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'message' || key === 'level') continue;
    info[key] = SENSITIVE_KEY.test(key) ? REDACTED : redact(info[key]);
  }
  return info;
});

/** Adds the current request id (and, once known, the tenant) to every line written inside a request. */
const contextFormat = winston.format((info) => {
  const cls = ClsServiceManager.getClsService();
  if (cls.isActive()) {
    info.requestId ??= cls.getId();
    const tenantId = cls.get('tenantId');
    if (tenantId) info.tenantId ??= tenantId;
  }
  return info;
});

const prettyLine = winston.format.printf((info) => {
  const { level, message, timestamp, context, requestId, stack, service: _service, ...rest } = info;
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  const ctx = context ? `[${String(context)}] ` : '';
  const rid = requestId ? ` (${String(requestId)})` : '';
  return `${String(timestamp)} ${level.toUpperCase().padEnd(7)} ${ctx}${String(message)}${rid}${extra}${stack ? `\n${String(stack)}` : ''}`;
});

export function createWinston(config: AppConfig, transports?: winston.transport[]): winston.Logger {
  const base = [contextFormat(), redactFormat(), winston.format.timestamp()];
  const format =
    config.log.format === 'json'
      ? winston.format.combine(...base, winston.format.json())
      : winston.format.combine(...base, prettyLine);
  return winston.createLogger({
    level: config.log.level,
    format,
    defaultMeta: { service: 'atrium' },
    transports: transports ?? [new winston.transports.Console()],
  });
}

const NEST_TO_WINSTON: Record<LogLevel, string> = {
  fatal: 'error',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'verbose',
};

/**
 * Nest's logger interface over winston. Nest passes the context as the last
 * argument and, for errors, a stack before it; objects become structured fields.
 */
export class WinstonNestLogger implements LoggerService {
  constructor(private readonly winston: winston.Logger) {}

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

  private write(level: LogLevel, message: unknown, params: unknown[]) {
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
    this.winston.log({ level: NEST_TO_WINSTON[level], ...fields } as winston.LogEntry);
  }
}

export function createNestLogger(instance: winston.Logger): LoggerService {
  return new WinstonNestLogger(instance);
}
