/**
 * The lifecycle of a run, defined once: PENDING → RUNNING → COMPLETED | FAILED | CANCELLED.
 * Lua scripts receive the terminal statuses as ARGV (from `TERMINAL_STATUSES`) instead of listing them.
 */
export type RunStatus = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
export type TerminalRunStatus = Extract<RunStatus, 'COMPLETED' | 'FAILED' | 'CANCELLED'>;

export const RUN_STATUSES: readonly RunStatus[] = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
export const TERMINAL_STATUSES: readonly TerminalRunStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export const isTerminalStatus = (status: string | null | undefined): status is TerminalRunStatus =>
  status !== null && status !== undefined && (TERMINAL_STATUSES as readonly string[]).includes(status);
