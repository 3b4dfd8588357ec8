/**
 * Delivery on the harness's engine and redis-server, with mail-started deliveries (`mail`), for the
 * mail tests that need no LINE channel: stopped with the harness.
 */
import { createLogger } from '../../core/logger.ts';
import { createDelivery, type Delivery, type MailOptions } from '../../delivery/index.ts';
import type { Harness } from '../helpers/index.ts';

export function mailDelivery(h: Harness, mail: MailOptions): Delivery {
  const delivery = createDelivery({
    ch: h.ch,
    redisUrl: h.redis.url,
    tenants: h.tenants,
    endpoints: () => ({ line: 'http://127.0.0.1:9' }),
    logger: createLogger('silent'),
    mail,
  });
  h.defer('stop delivery', () => delivery.stop());
  return delivery;
}
