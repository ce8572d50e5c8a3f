/** The events a webhook endpoint may subscribe to (issue 13.1). */
export const WEBHOOK_EVENTS = ['run.completed', 'run.failed', 'run.cancelled', 'quota.exhausted', 'schedule.misfired'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** One endpoint as stored: the warehouse row and the Redis hot copy carry the same fields. */
export interface WebhookRecord {
  webhookId: string;
  tenantId: string;
  url: string;
  events: WebhookEvent[];
  isActive: boolean;
  /** Why the platform disabled the endpoint (null when a tenant set is_active or it is active). */
  disabledReason: string | null;
  /** Key-manager ciphertext of the signing secret, base64. */
  encryptedSecret: string;
  /** The secret before the last rotation, still signing until `previousSecretExpiresAt`. */
  previousEncryptedSecret: string | null;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One attempt of one delivery, as `GET …/webhooks/{id}/deliveries` lists it. */
export interface DeliveryAttempt {
  delivery_id: string;
  event_type: string;
  attempt: number;
  attempted_at: string;
  status_code: number | null;
  /** null on success; else `http_<status>`, `timeout`, `connection refused`, `blocked_address`, … */
  error: string | null;
  success: boolean;
  duration_ms: number;
  next_retry_at: string | null;
}
