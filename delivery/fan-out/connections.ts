/** The fan-out's Redis connections: the shared one, one per worker, and one for chunk values. */
import { connectRedis, type Redis } from '../../core/redis.ts';
import type { Logger } from '../../core/logger.ts';

export class RedisConnections {
  /** Small, urgent commands (send slots, settling, progress) and the queues. */
  readonly main: Redis;
  readonly #logger: Logger;
  #bulkConnection: Redis | undefined;
  readonly #connections: Redis[] = [];

  /**
   * What requests use (the API's state reads and changes, adding a delivery's start): no offline
   * queue, so while Redis is down they answer 503 at once instead of waiting for it.
   */
  readonly requests: Redis;

  constructor(redisUrl: string, logger: Logger) {
    this.#logger = logger;
    this.main = connectRedis(redisUrl, { forQueues: true });
    this.main.on('error', (e) => logger.warn({ err: e.message }, 'delivery redis error'));
    this.requests = connectRedis(redisUrl, { forQueues: true, failFast: true });
    this.requests.on('error', (e) => logger.warn({ err: e.message }, 'delivery redis error'));
  }

  /** A new connection (a worker's), closed with the others. */
  connection(): Redis {
    const c = this.main.duplicate();
    c.on('error', (e) => this.#logger.warn({ err: e.message }, 'delivery redis error'));
    this.#connections.push(c);
    return c;
  }

  /**
   * The connection for chunk values (megabytes each): on the shared connection they would hold up
   * the small, urgent commands queued behind them (send slots, settling).
   */
  bulk(): Redis {
    return (this.#bulkConnection ??= this.connection());
  }

  async quit(): Promise<void> {
    for (const c of this.#connections) await c.quit().catch(() => {});
    await this.main.quit().catch(() => {});
    await this.requests.quit().catch(() => {});
  }
}
