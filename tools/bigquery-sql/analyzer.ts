import type { BigQueryCatalog } from './catalog';
import { bigQueryAnalyzerOptions } from './language';
import type { GrpcError, NamedType, RegisteredId, ZetaSqlClient } from './protos';
import { ZetaSqlServer } from './zetasql-server';

/**
 * BigQuery SQL analysis with ZetaSQL: a catalog is registered once on the server, then statements are
 * analyzed against it with BigQuery's language options and typed `@name` parameters. An analysis error
 * comes back as BigQuery words it (`Unrecognized name: statuz; Did you mean status? at [1:8]`).
 */
export type Analysis =
  | { ok: true; kind: string; outputColumns: OutputColumn[] }
  | { ok: false; message: string };

export interface OutputColumn {
  name: string;
  /** BigQuery type name of the column (`STRING`, `JSON`, `ARRAY`, `STRUCT`, …). */
  type: string;
}

const INVALID_ARGUMENT = 3;

export class BigQueryAnalyzer {
  private constructor(private readonly client: ZetaSqlClient) {}

  /** Starts (or reuses) this process's ZetaSQL server. */
  static async start(): Promise<BigQueryAnalyzer> {
    return new BigQueryAnalyzer((await ZetaSqlServer.start()).client);
  }

  async register(catalog: BigQueryCatalog): Promise<RegisteredCatalog> {
    const response = await this.client.registerCatalog({ simpleCatalog: catalog.toProto() });
    if (!response) throw new Error('zetasql: registerCatalog returned nothing');
    return new RegisteredCatalog(this.client, response.registeredId);
  }
}

export class RegisteredCatalog {
  constructor(
    private readonly client: ZetaSqlClient,
    private readonly id: RegisteredId,
  ) {}

  async analyze(sql: string, parameters: NamedType[] = []): Promise<Analysis> {
    try {
      const response = await this.client.analyze({ registeredCatalogId: this.id, sqlStatement: sql, options: bigQueryAnalyzerOptions(parameters) });
      const statement = response?.resolvedStatement ?? {};
      return { ok: true, kind: statementKind(statement), outputColumns: outputColumns(statement) };
    } catch (err) {
      const grpc = err as GrpcError;
      if (grpc.code !== INVALID_ARGUMENT) throw err;
      return { ok: false, message: bigQueryMessage(grpc.details ?? grpc.message ?? 'invalid query') };
    }
  }

  async release(): Promise<void> {
    await this.client.unRegisterCatalog({ registeredId: this.id });
  }
}

/** ZetaSQL puts the position last as `[at 1:8]`; BigQuery's jobs API says `at [1:8]`. */
export const bigQueryMessage = (details: string): string => details.replace(/ \[at (\d+:\d+)\]$/, ' at [$1]');

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);
const NODE = /^resolved(\w+)Node$/;

/** `CreateViewStmt`, `QueryStmt`, `MergeStmt`…: the innermost node of the resolved statement's oneof chain. */
function statementKind(statement: Tree): string {
  let kind = 'Unknown';
  let at: unknown = statement;
  for (;;) {
    if (!isTree(at)) return kind;
    const key = Object.keys(at).find((k) => NODE.test(k) && isTree((at as Tree)[k]));
    if (!key) return kind;
    kind = NODE.exec(key)?.[1] ?? kind;
    at = at[key];
  }
}

const TYPE_NAMES: Record<number, string> = {
  2: 'INT64', 5: 'BOOL', 7: 'FLOAT64', 8: 'STRING', 9: 'BYTES', 10: 'DATE', 16: 'ARRAY', 17: 'STRUCT', 19: 'TIMESTAMP',
  20: 'TIME', 21: 'DATETIME', 22: 'GEOGRAPHY', 23: 'NUMERIC', 24: 'BIGNUMERIC', 26: 'JSON', 27: 'INTERVAL', 29: 'RANGE',
};

/** The statement's result columns (a query's, or a view's definition), found wherever the node keeps them. */
function outputColumns(tree: unknown): OutputColumn[] {
  if (!isTree(tree)) return [];
  const list = tree['outputColumnList'];
  if (Array.isArray(list)) {
    return list.filter(isTree).map((c) => {
      const column = isTree(c['column']) ? c['column'] : {};
      const type = isTree(column['type']) ? column['type'] : {};
      return { name: String(c['name'] ?? ''), type: TYPE_NAMES[Number(type['typeKind'])] ?? `kind ${String(type['typeKind'])}` };
    });
  }
  for (const value of Object.values(tree)) {
    const found = outputColumns(value);
    if (found.length > 0) return found;
  }
  return [];
}
