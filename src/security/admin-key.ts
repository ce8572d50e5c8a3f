import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The admin key: ADMIN_API_KEY when set; otherwise (never in production, config refuses that) one generated
 * on first start into DATA_DIR/admin-key with mode 0600. The caller logs where it is, never the key.
 */
export function resolveAdminKey(configured: string | undefined, keyPath: string): { key: string; generatedAt: string | null; path: string | null } {
  if (configured) return { key: configured, generatedAt: null, path: null };
  if (fs.existsSync(keyPath)) {
    fs.chmodSync(keyPath, 0o600);
    return { key: fs.readFileSync(keyPath, 'utf8').trim(), generatedAt: null, path: keyPath };
  }
  fs.mkdirSync(path.dirname(keyPath), { recursive: true });
  const key = `admin_${randomBytes(24).toString('base64url')}`;
  fs.writeFileSync(keyPath, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { key, generatedAt: keyPath, path: keyPath };
}
