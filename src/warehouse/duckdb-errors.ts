import { WarehouseError } from './types';

/** DuckDB error texts → WarehouseError reasons, and the identifier allow-list of the DuckDB adapter. */

const IDENT = /^[A-Za-z0-9_]{1,1024}$/;

export function assertIdentifier(kind: string, name: string): void {
  if (!IDENT.test(name)) throw new WarehouseError(`Invalid ${kind} name: ${JSON.stringify(name)}`, 'invalid_query');
}

export function mapDuckDbError(err: unknown, signal?: AbortSignal): WarehouseError {
  if (err instanceof WarehouseError) return err;
  // extractStatements wraps the parser's error in a prefix of its own; the reason is the parser's.
  const message = (err instanceof Error ? err.message : String(err)).replace(/^Failed to extract statements: /, '');
  if (signal?.aborted || /^INTERRUPT Error/i.test(message)) return new WarehouseError('Query cancelled', 'cancelled', { cause: err });
  // The instance itself is broken (a fatal error invalidates the database until it is reopened) or closed: nothing
  // the query did, and what an API answer must call unavailable rather than blame the SQL.
  if (/^(FATAL|Connection) Error/i.test(message) || /database has been invalidated/i.test(message)) return new WarehouseError(message, 'unavailable', { cause: err });
  if (/Catalog Error: .*(does not exist|not found)/is.test(message)) return new WarehouseError(message, 'not_found', { cause: err });
  // With external access off, every file, network and extension access fails this way (see duckdb-lockdown.ts).
  if (/^Permission Error/i.test(message)) return new WarehouseError(message, 'access_denied', { cause: err });
  if (/already exists/i.test(message)) return new WarehouseError(message, 'already_exists', { cause: err });
  if (/^(Parser|Binder|Conversion|Constraint|Invalid Input|Catalog|Out of Range|Not implemented|Dependency) Error/i.test(message)) {
    return new WarehouseError(message, 'invalid_query', { cause: err });
  }
  return new WarehouseError(message, 'unknown', { cause: err });
}
