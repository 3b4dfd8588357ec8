import type { Socket } from 'node:net';
import { Command, Redis } from 'ioredis';

export type { Redis };

/**
 * One ioredis connection.
 *
 * - default: the suite's own commands (sessions, throttles, budgets): a command waits through at
 *   most two reconnection attempts, then fails (MaxRetriesPerRequestError → 503 redis_unavailable).
 * - `forQueues`: what BullMQ Workers need (maxRetriesPerRequest null, the offline queue on): their
 *   commands wait for Redis to come back, however long.
 * - `failFast` (with forQueues, for a BullMQ Queue that requests add to and read from): no offline
 *   queue, so while Redis is down a command fails at once instead of holding the request forever.
 * - all but Workers' connections: a command without an answer in COMMAND_TIMEOUT_MS fails.
 */
export function connectRedis(url: string, opts: { forQueues?: boolean; failFast?: boolean } = {}): Redis {
  const waits = opts.forQueues && !opts.failFast;
  return new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: opts.forQueues ? null : 2,
    enableOfflineQueue: !opts.failFast,
    // a Redis that accepts but does not answer (stalled, stopped): a request's command gives up;
    // never on a Worker's connection, whose blocking commands wait by design
    ...(waits ? {} : { commandTimeout: COMMAND_TIMEOUT_MS }),
  });
}

/** How long a request's Redis command may take before it fails (as redis_unavailable). */
export const COMMAND_TIMEOUT_MS = 5000;

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

/**
 * SET key (parts joined) EX ttl, with the parts written to the socket as they are. ioredis copies
 * a Buffer argument into a new buffer for each command, and again for a pipeline or MULTI: for
 * values of megabytes (delivery chunks) those copies, and the collections their external memory
 * sets off, cost more than the write itself.
 */
export function setFromParts(
  redis: Redis,
  key: string,
  parts: readonly Buffer[],
  ttlSeconds: number,
): Promise<unknown> {
  const command = new PartsSet(key, parts, ttlSeconds);
  return redis.sendCommand(command) as Promise<unknown>;
}

const EMPTY = Buffer.alloc(0);

class PartsSet extends Command {
  readonly #parts: readonly Buffer[];

  constructor(key: string, parts: readonly Buffer[], ttlSeconds: number) {
    super('set', [key, EMPTY, 'EX', String(ttlSeconds)], { replyEncoding: 'utf8' });
    this.#parts = parts;
  }

  override toWritable(socket: object): string | Buffer {
    const s = socket as Socket;
    const [key, , ex, ttl] = this.args as [string, Buffer, string, string];
    const length = this.#parts.reduce((n, p) => n + p.length, 0);
    s.cork();
    s.write(`*5\r\n$3\r\nset\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n$${length}\r\n`);
    for (const p of this.#parts) if (p.length) s.write(p);
    s.write(`\r\n$${ex.length}\r\n${ex}\r\n$${ttl.length}\r\n${ttl}\r\n`);
    process.nextTick(() => s.uncork());
    return EMPTY;
  }
}
