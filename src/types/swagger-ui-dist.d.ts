declare module 'swagger-ui-dist' {
  /** Folder holding the Swagger UI static assets. */
  export function getAbsoluteFSPath(): string;
}

/** The same function without the package index, which evaluates the 1.4 MB UI bundles (~40 MB RSS) on require. */
declare module 'swagger-ui-dist/absolute-path' {
  function getAbsoluteFSPath(): string;
  export = getAbsoluteFSPath;
}
