import Joi from 'joi';
import { WEBHOOK_EVENTS } from './types';

/** Longest rotation grace: a week, like API keys. */
export const MAX_WEBHOOK_GRACE_SECONDS = 7 * 24 * 3600;
export const DEFAULT_WEBHOOK_GRACE_SECONDS = 24 * 3600;

const url = Joi.string().trim().max(2048)
  .description('https URL the deliveries are POSTed to; its host must resolve to public addresses only (else 422 WEBHOOK_URL_NOT_ALLOWED)');
const events = Joi.array().items(Joi.string().valid(...WEBHOOK_EVENTS)).min(1).unique()
  .description(`Events to receive: ${WEBHOOK_EVENTS.join(', ')}`);
const isActive = Joi.boolean().description('false pauses deliveries; true re-enables an endpoint the platform disabled');

export const createWebhookSchema = Joi.object({
  url: url.required(),
  events: events.required(),
  is_active: isActive.default(true),
}).label('WebhookCreateRequest');

export const patchWebhookSchema = Joi.object({ url, events, is_active: isActive }).min(1).label('WebhookPatchRequest');

export const rotateWebhookSecretSchema = Joi.object({
  grace_seconds: Joi.number().integer().min(0).max(MAX_WEBHOOK_GRACE_SECONDS).default(DEFAULT_WEBHOOK_GRACE_SECONDS)
    .description('How long the previous secret keeps signing alongside the new one (default 86400)'),
}).label('WebhookRotateSecretRequest');

export const deliveriesQuerySchema = Joi.object({
  limit: Joi.number().integer().min(1).max(100).default(20),
  cursor: Joi.string().pattern(/^\d{1,6}$/).description('next_cursor of the previous page'),
});

export interface CreateWebhookBody {
  url: string;
  events: string[];
  is_active: boolean;
}
export interface PatchWebhookBody {
  url?: string;
  events?: string[];
  is_active?: boolean;
}
