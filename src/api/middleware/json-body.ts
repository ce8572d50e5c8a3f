import type { Middleware } from 'koa';
import { AppError } from '../../shared/errors';
import type { ApiState } from '../types';

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads the body as JSON whatever the Content-Type says, because the guide's own curl examples send
 * JSON with curl's default form content type. Over 1 MiB → 413; not JSON → 400; not an object → 422.
 */
export function jsonBody(): Middleware<ApiState> {
  return async (ctx, next) => {
    if (ctx.method === 'GET' || ctx.method === 'HEAD' || ctx.method === 'OPTIONS') return next();
    const declared = Number(ctx.get('Content-Length') || 0);
    if (declared > MAX_BODY_BYTES) throw tooLarge();
    const raw = await readLimited(ctx.req, MAX_BODY_BYTES);
    const text = raw.toString('utf8').trim();
    if (text === '') {
      (ctx.request as { body?: unknown }).body = {};
      return next();
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new AppError(400, 'INVALID_JSON', 'Request body is not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new AppError(422, 'VALIDATION_ERROR', 'Request body must be a JSON object', { errors: [{ field: 'body', message: 'must be an object' }] });
    }
    (ctx.request as { body?: unknown }).body = parsed;
    return next();
  };
}

const tooLarge = (): AppError => new AppError(413, 'PAYLOAD_TOO_LARGE', `Request body exceeds ${MAX_BODY_BYTES} bytes`);

function readLimited(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        stream.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new AppError(400, 'INVALID_JSON', 'Request body could not be read', { cause: err }));
    };
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}
