import { createHash } from 'node:crypto';

/**
 * The run id of one fire: a hash of (config id, fire time) formatted as a UUID v4, so every
 * caller that handles the same fire (Cloud Scheduler retry, another replica, our repeatable tick,
 * a takeover after a crash) asks the trigger for the same run and gets the existing one back.
 */
export function scheduledRunId(configId: string, fireTime: Date | number): string {
  const ms = typeof fireTime === 'number' ? fireTime : fireTime.getTime();
  const hex = createHash('sha256').update(`schedule:${configId}:${ms}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
