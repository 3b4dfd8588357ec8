import { Redis } from 'ioredis';

export type { Redis };

/** One ioredis connection; BullMQ needs maxRetriesPerRequest null on the connections it uses. */
export function connectRedis(url: string, opts: { forQueues?: boolean } = {}): Redis {
  return new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: opts.forQueues ? null : 2,
    enableOfflineQueue: true,
  });
}

/** A real PING round trip with a deadline: what /readyz relies on. */
export async function redisRoundTrip(redis: Redis, timeoutMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), timeoutMs))),
    ]);
    if (answer !== 'PONG') throw new Error(`unexpected answer ${answer}`);
  } finally {
    clearTimeout(timer);
  }
}
