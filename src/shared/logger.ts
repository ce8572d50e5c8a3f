import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * Paths that may hold secrets are censored; secrets are also never passed to the logger on purpose.
 * The redaction is a second line of defence, not the first.
 */
const REDACT_PATHS = [
  'api_key',
  'apiKey',
  'adminKey',
  'credentials',
  'password',
  '*.api_key',
  '*.apiKey',
  '*.credentials',
  'req.headers["x-api-key"]',
  'req.headers["x-admin-key"]',
  'req.headers.authorization',
];

export interface LoggerOptions {
  level?: string;
  destination?: pino.DestinationStream;
}

export const createLogger = (options: LoggerOptions = {}): Logger =>
  pino(
    {
      level: options.level ?? 'info',
      base: { service: 'convergence' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );

/** A logger that writes nothing; for tests and tools that do not care. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
