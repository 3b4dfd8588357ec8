/** LINE's webhook signature: base64 HMAC-SHA256 of the raw request body keyed by the channel secret. */
import { createHmac } from 'node:crypto';

export function signBody(body: string | Buffer, channelSecret: string): string {
  return createHmac('sha256', channelSecret).update(body).digest('base64');
}
