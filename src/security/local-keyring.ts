import fs from 'node:fs/promises';
import path from 'node:path';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { KeyManager } from './key-manager';

/**
 * AES-256-GCM key manager for the embedded default. The key lives in `keyring.json` (mode 0600),
 * created on first start. Ciphertext layout:
 *
 *   version (1 byte) | key id (8 bytes) | iv (12 bytes) | tag (16 bytes) | data
 *
 * The version byte and key id are authenticated as AAD, so changing any byte fails decryption.
 * The file holds a list of keys so a key can be rotated later while old ciphertexts stay readable.
 */
const FORMAT_VERSION = 1;
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES;
const FILE_MODE = 0o600;

interface KeyringFileKey {
  id: string;
  key: string;
  created_at: string;
}

interface KeyringFile {
  version: 1;
  primary: string;
  keys: KeyringFileKey[];
}

export interface LocalKeyringOptions {
  logger?: Logger;
}

export class LocalKeyring implements KeyManager {
  readonly kind = 'local' as const;

  private constructor(
    private readonly keys: Map<string, Buffer>,
    private readonly primaryId: string,
  ) {}

  /** Opens the keyring at `filePath`, creating it (0600) on first start and repairing a too-open mode. */
  static async open(filePath: string, options: LocalKeyringOptions = {}): Promise<LocalKeyring> {
    const file = await readOrCreate(filePath, options.logger);
    const keys = new Map<string, Buffer>();
    for (const k of file.keys) {
      const key = Buffer.from(k.key, 'base64');
      if (key.length !== 32 || !/^[0-9a-f]{16}$/.test(k.id)) throw keyringInvalid(filePath, 'a key is not 32 bytes with a 16-hex id');
      keys.set(k.id, key);
    }
    if (!keys.has(file.primary)) throw keyringInvalid(filePath, 'the primary key id is not in the key list');
    return new LocalKeyring(keys, file.primary);
  }

  async encrypt(plaintext: Buffer): Promise<Buffer> {
    const key = this.keys.get(this.primaryId);
    if (!key) throw new AppError(500, 'INTERNAL_ERROR', 'Keyring has no primary key');
    const header = Buffer.concat([Buffer.from([FORMAT_VERSION]), Buffer.from(this.primaryId, 'hex')]);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(header);
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, iv, cipher.getAuthTag(), data]);
  }

  async decrypt(ciphertext: Buffer): Promise<Buffer> {
    if (ciphertext.length < HEADER_BYTES + IV_BYTES + TAG_BYTES) throw decryptFailed('ciphertext is too short');
    if (ciphertext[0] !== FORMAT_VERSION) throw decryptFailed('unknown ciphertext version');
    const header = ciphertext.subarray(0, HEADER_BYTES);
    const keyId = ciphertext.subarray(1, HEADER_BYTES).toString('hex');
    const key = this.keys.get(keyId);
    if (!key) throw decryptFailed('ciphertext was made with a key this keyring does not hold');
    const iv = ciphertext.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
    const tag = ciphertext.subarray(HEADER_BYTES + IV_BYTES, HEADER_BYTES + IV_BYTES + TAG_BYTES);
    const data = ciphertext.subarray(HEADER_BYTES + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(header);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]);
    } catch (err) {
      throw decryptFailed('authentication failed (tampered or wrong key)', err);
    }
  }

  async close(): Promise<void> {
    // Best effort: drop the key material from memory.
    for (const key of this.keys.values()) key.fill(0);
    this.keys.clear();
  }
}

async function readOrCreate(filePath: string, logger: Logger | undefined): Promise<KeyringFile> {
  await fs.mkdir(path.dirname(filePath), { recursive: true, mode: 0o700 });
  const created = await createIfAbsent(filePath);
  if (created) logger?.info({ path: filePath }, 'created local keyring');
  const stat = await fs.stat(filePath);
  if ((stat.mode & 0o077) !== 0) {
    // Group/world access to the key file defeats encryption at rest: tighten it rather than refuse to start.
    await fs.chmod(filePath, FILE_MODE);
    logger?.warn({ path: filePath, previousMode: (stat.mode & 0o777).toString(8) }, 'keyring file mode repaired to 0600');
  }
  const raw = await fs.readFile(filePath, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw keyringInvalid(filePath, 'not valid JSON');
  }
  if (!isKeyringFile(parsed)) throw keyringInvalid(filePath, 'unexpected structure');
  return parsed;
}

/** Creates the file exclusively (`wx`), so two processes starting at once cannot both write a key. */
async function createIfAbsent(filePath: string): Promise<boolean> {
  const id = randomBytes(KEY_ID_BYTES).toString('hex');
  const content: KeyringFile = {
    version: 1,
    primary: id,
    keys: [{ id, key: randomBytes(32).toString('base64'), created_at: new Date().toISOString() }],
  };
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(filePath, 'wx', FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(`${JSON.stringify(content, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

function isKeyringFile(value: unknown): value is KeyringFile {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.version === 1 &&
    typeof v.primary === 'string' &&
    Array.isArray(v.keys) &&
    v.keys.every((k: unknown) => {
      if (typeof k !== 'object' || k === null) return false;
      const e = k as Record<string, unknown>;
      return typeof e.id === 'string' && typeof e.key === 'string';
    })
  );
}

const keyringInvalid = (filePath: string, why: string): AppError =>
  new AppError(500, 'INTERNAL_ERROR', `Keyring file ${filePath} is invalid: ${why}`, { expose: false });

const decryptFailed = (why: string, cause?: unknown): AppError =>
  new AppError(500, 'INTERNAL_ERROR', `Decryption failed: ${why}`, { expose: false, cause });
