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
  /** Where lines go; default: standard output (see bufferBytes). */
  destination?: pino.DestinationStream;
  /**
   * Standard output only: lines are collected up to this many bytes and written together, at the latest
   * every `flushIntervalMs` and on exit (pino flushes an asynchronous destination synchronously when the
   * process exits, `process.exit` and fatal errors included). 0 or absent: each line written at once.
   * Saves a system call per access-log line; a SIGKILL loses at most `flushIntervalMs` of lines.
   */
  bufferBytes?: number;
  flushIntervalMs?: number;
}

const OPTIONS: pino.LoggerOptions = {
  base: { service: 'convergence' },
  redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  timestamp: pino.stdTimeFunctions.isoTime,
};

export const createLogger = (options: LoggerOptions = {}): Logger =>
  pino({ ...OPTIONS, level: options.level ?? 'info' }, options.destination ?? stdoutDestination(options.bufferBytes ?? 0, options.flushIntervalMs ?? 100));

/** A buffered, asynchronous standard output with a periodic flush (or pino's default, line by line, for 0 bytes). */
function stdoutDestination(bufferBytes: number, flushIntervalMs: number): pino.DestinationStream | undefined {
  if (bufferBytes <= 0) return undefined;
  const stream = pino.destination({ dest: 1, minLength: bufferBytes, sync: false });
  // flush() while a write is under way does nothing (that write's end continues with what is pending);
  // unref: the timer never keeps the process alive.
  const timer = setInterval(() => {
    try {
      stream.flush();
    } catch {
      clearInterval(timer); // destroyed: the process is ending
    }
  }, flushIntervalMs);
  timer.unref();
  return stream;
}

/** A logger that writes nothing; for tests and tools that do not care. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
