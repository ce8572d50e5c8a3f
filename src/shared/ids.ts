import { randomUUID } from 'node:crypto';

/** Identifier patterns are allow-lists: anything that reaches SQL as an identifier matched one. */
export const TENANT_ID_PATTERN = /^[a-z0-9_]{3,50}$/;
export const PATH_SEGMENT_PATTERN = /^[a-z0-9_]+$/;
export const USER_ID_PATTERN = /^[A-Za-z0-9._@-]{1,128}$/;
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const newRunId = (): string => randomUUID();
export const newId = (): string => randomUUID();

export const pipelineIdOf = (tenantId: string, provider: string, domain: string, templateName: string): string =>
  `${tenantId}-${provider}-${domain}-${templateName}`;
