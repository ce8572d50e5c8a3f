/**
 * The few ZetaSQL protocol messages this tool sends and reads, as the package's gRPC client takes them
 * (proto-loader: camelCase fields, enums by name on the way in, by number on the way out). Declared
 * here so `tsc` does not need the optional tools/zetasql install.
 */

export type TypeKindName =
  | 'TYPE_INT64' | 'TYPE_BOOL' | 'TYPE_DOUBLE' | 'TYPE_STRING' | 'TYPE_BYTES' | 'TYPE_DATE' | 'TYPE_TIMESTAMP'
  | 'TYPE_ARRAY' | 'TYPE_STRUCT' | 'TYPE_TIME' | 'TYPE_DATETIME' | 'TYPE_GEOGRAPHY' | 'TYPE_NUMERIC'
  | 'TYPE_BIGNUMERIC' | 'TYPE_JSON' | 'TYPE_INTERVAL';

export interface TypeProto {
  typeKind: TypeKindName;
  arrayType?: { elementType: TypeProto };
  structType?: { field: Array<{ fieldName: string; fieldType: TypeProto }> };
}

export interface SimpleTableProto {
  name: string;
  fullName?: string;
  column: Array<{ name: string; type: TypeProto }>;
}

export interface SimpleCatalogProto {
  name: string;
  table?: SimpleTableProto[];
  catalog?: SimpleCatalogProto[];
  builtinFunctionOptions?: { languageOptions: LanguageOptionsProto };
}

export interface LanguageOptionsProto {
  productMode: 'PRODUCT_EXTERNAL' | 'PRODUCT_INTERNAL';
  nameResolutionMode: 'NAME_RESOLUTION_DEFAULT';
  enabledLanguageFeatures: string[];
  supportedStatementKinds: string[];
  reservedKeywords: string[];
}

export interface NamedType {
  name: string;
  type: TypeProto;
}

export interface AnalyzerOptionsProto {
  languageOptions: LanguageOptionsProto;
  queryParameters: NamedType[];
  systemVariables: Array<{ namePath: string[]; type: TypeProto }>;
  errorMessageMode: 'ERROR_MESSAGE_ONE_LINE';
  defaultTimezone: string;
  parameterMode: 'PARAMETER_NAMED';
}

/** protobuf int64 as the client hands it back; passed back unchanged. */
export type RegisteredId = object;

export interface AnalyzeRequest {
  registeredCatalogId: RegisteredId;
  sqlStatement: string;
  options: AnalyzerOptionsProto;
}

/** The resolved statement is a oneof tree keyed by node kind; this tool reads only its outer shape. */
export interface AnalyzeResponse {
  resolvedStatement?: Record<string, unknown> | null;
}

/** What the package's `ZetaSQLClient` offers that this tool uses. */
export interface ZetaSqlClient {
  testConnection(): Promise<boolean>;
  registerCatalog(request: { simpleCatalog: SimpleCatalogProto }): Promise<{ registeredId: RegisteredId } | undefined>;
  unRegisterCatalog(request: { registeredId: RegisteredId }): Promise<unknown>;
  analyze(request: AnalyzeRequest): Promise<AnalyzeResponse | undefined>;
}

export interface ZetaSqlPackage {
  ZetaSQLClient: { init(port: number): void; getInstance(): ZetaSqlClient };
}

/** gRPC failures carry the server's text in `details`; code 3 (INVALID_ARGUMENT) is an analysis error. */
export interface GrpcError {
  code?: number;
  details?: string;
  message?: string;
}
