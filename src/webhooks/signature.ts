import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Stripe-style signatures: `Convergence-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * While a rotated secret is in its grace period both secrets sign, so the header carries two `v1=` entries
 * and a receiver holding either secret accepts the delivery.
 */

export const SIGNATURE_HEADER = 'Convergence-Signature';
export const SECRET_PREFIX = 'whsec_';

export const newSigningSecret = (): string => `${SECRET_PREFIX}${randomBytes(24).toString('base64url')}`;

export const signPayload = (secret: string, timestamp: number, body: string): string =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

/** The header value, one `v1=` per secret (current first). */
export function signatureHeader(secrets: string[], timestamp: number, body: string): string {
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${signPayload(s, timestamp, body)}`)].join(',');
}

/**
 * What a receiver does (the README shows the same in a snippet): some `v1` matches in constant time and
 * `t` is within `toleranceSeconds` of now.
 */
export function verifySignature(header: string, body: string, secret: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = header.split(',').map((p) => p.split('=', 2) as [string, string | undefined]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(secret, t, body), 'hex');
  return parts.some(([k, v]) => k === 'v1' && v !== undefined && /^[0-9a-f]+$/.test(v) && v.length === expected.length * 2
    && timingSafeEqual(Buffer.from(v, 'hex'), expected));
}
