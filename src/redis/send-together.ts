import Redis from 'ioredis';
import type { RedisClient } from './connection';

/**
 * Runs `issue`, which sends several commands in the same tick (e.g. the two rate limiters' scripts), with
 * the connection's socket corked, so the commands leave in one socket write instead of one each. Nothing
 * waits: the socket is uncorked before this returns, so the commands go out exactly when they would have
 * (a frozen Redis still costs one command timeout), only in one system call. On a Cluster, or before the
 * connection is ready, `issue` just runs.
 */
export function sendTogether<T>(redis: RedisClient, issue: () => T): T {
  if (!(redis instanceof Redis) || redis.status !== 'ready') return issue();
  const stream = redis.stream;
  stream.cork();
  try {
    return issue();
  } finally {
    stream.uncork();
  }
}
