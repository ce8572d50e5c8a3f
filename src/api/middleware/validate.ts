import type Joi from 'joi';
import type { Middleware } from 'koa';
import { validationError } from '../../shared/errors';
import type { FieldError } from '../../shared/errors';
import type { ApiState } from '../types';

const OPTIONS: Joi.ValidationOptions = { abortEarly: false, convert: true, stripUnknown: false, errors: { wrap: { label: false } } };

function check(schema: Joi.ObjectSchema, value: unknown, where: string): unknown {
  const { value: converted, error } = schema.validate(value ?? {}, OPTIONS);
  if (!error) return converted;
  const errors: FieldError[] = error.details.map((d) => ({
    field: d.path.length > 0 ? d.path.join('.') : where,
    message: d.message,
  }));
  throw validationError(errors);
}

/** Validates path params, query and body against the route's joi schemas (422 naming each field). */
export function validate(schemas: { params?: Joi.ObjectSchema; query?: Joi.ObjectSchema; body?: Joi.ObjectSchema }): Middleware<ApiState> {
  return async (ctx, next) => {
    const routed = ctx as unknown as { params: Record<string, string> };
    if (schemas.params) routed.params = check(schemas.params, routed.params, 'path') as Record<string, string>;
    if (schemas.query) ctx.state.query = check(schemas.query, { ...ctx.query }, 'query');
    if (schemas.body) ctx.state.body = check(schemas.body, (ctx.request as { body?: unknown }).body, 'body');
    await next();
  };
}
