import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Tenant API keys: `{tenant_id}_api_{16 chars of [A-Za-z0-9]}`. The plaintext exists only in the
 * onboarding/rotation response; the warehouse keeps the SHA-256 hash (lookup) and a key-manager
 * ciphertext. Nothing here logs.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SECRET_LENGTH = 16;
const SEPARATOR = '_api_';
/** Largest multiple of 62 that fits a byte: bytes at or above it are rejected, so no residue is favoured. */
const UNBIASED_LIMIT = 256 - (256 % ALPHABET.length);
const SECRET_PATTERN = /^[A-Za-z0-9]{16}$/;
const TENANT_PATTERN = /^[a-z0-9_]{3,50}$/;

/** `length` characters of ALPHABET drawn uniformly from the CSPRNG (rejection sampling). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += ALPHABET[byte % ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}

export function generateApiKey(tenantId: string): string {
  return `${tenantId}${SEPARATOR}${randomAlphanumeric(SECRET_LENGTH)}`;
}

export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/**
 * The tenant a well-formed key claims, or null. Parsed from the right because tenant ids may
 * themselves contain `_api_`; the secret part has a fixed length.
 */
export function tenantIdOfKey(apiKey: string): string | null {
  const suffixLength = SEPARATOR.length + SECRET_LENGTH;
  if (apiKey.length <= suffixLength) return null;
  const tenantId = apiKey.slice(0, -suffixLength);
  const separator = apiKey.slice(-suffixLength, -SECRET_LENGTH);
  const secret = apiKey.slice(-SECRET_LENGTH);
  if (separator !== SEPARATOR || !SECRET_PATTERN.test(secret) || !TENANT_PATTERN.test(tenantId)) return null;
  return tenantId;
}

/** What may be shown of a key after issue: the tenant, the separator and 4 characters of the secret. */
export function keyPrefix(apiKey: string): string {
  const tenantId = tenantIdOfKey(apiKey);
  if (tenantId === null) return '…';
  return `${tenantId}${SEPARATOR}${apiKey.slice(tenantId.length + SEPARATOR.length, tenantId.length + SEPARATOR.length + 4)}…`;
}

/**
 * Constant-time comparison (admin key). Both sides are hashed first so that neither the content
 * nor the length of the expected value leaks through timing.
 */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
