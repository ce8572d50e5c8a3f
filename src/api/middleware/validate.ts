import type Joi from 'joi';
import type { Middleware } from 'koa';
import { validationError } from '../../shared/errors';
import type { FieldError } from '../../shared/errors';
import type { ApiState } from '../types';

const OPTIONS: Joi.ValidationOptions = { abortEarly: false, convert: true, stripUnknown: false, errors: { wrap: { label: false } } };

function check(schema: Joi.ObjectSchema, value: unknown, where: string): unknown {
  const { value: converted, error } = schema.validate(value ?? {});
  if (!error) return converted;
  const errors: FieldError[] = error.details.map((d) => ({
    field: d.path.length > 0 ? d.path.join('.') : where,
    message: d.message,
  }));
  throw validationError(errors);
}

/**
 * Validates path params, query and body against the route's joi schemas (422 naming each field). The
 * options are bound to each schema once, here, rather than merged into joi's defaults on every request.
 */
export function validate(schemas: { params?: Joi.ObjectSchema; query?: Joi.ObjectSchema; body?: Joi.ObjectSchema }): Middleware<ApiState> {
  const params = schemas.params?.prefs(OPTIONS);
  const query = schemas.query?.prefs(OPTIONS);
  const body = schemas.body?.prefs(OPTIONS);
  return async (ctx, next) => {
    const routed = ctx as unknown as { params: Record<string, string> };
    if (params) routed.params = check(params, routed.params, 'path') as Record<string, string>;
    if (query) ctx.state.query = check(query, { ...ctx.query }, 'query');
    if (body) ctx.state.body = check(body, (ctx.request as { body?: unknown }).body, 'body');
    await next();
  };
}
