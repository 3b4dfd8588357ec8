/** Channel access tokens: `Authorization: Bearer <token>` → the channel, or LINE's 401. */
import type { IncomingMessage } from 'node:http';
import type { ChannelWorld, World } from '../world.ts';
import { invalidAccessToken, missingAuthorization } from './errors.ts';

export function authenticate(req: IncomingMessage, world: World): ChannelWorld {
  const header = req.headers.authorization;
  if (!header) throw missingAuthorization();
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw missingAuthorization();
  const channel = world.byAccessToken(m[1]!);
  if (!channel) throw invalidAccessToken();
  return channel;
}
