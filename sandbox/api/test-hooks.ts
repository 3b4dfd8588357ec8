/**
 * Test hooks under /__sandbox/ (no bearer auth; the sandbox listens on localhost): what each
 * resident received, fault injection, the recent request log, rate-limit reset.
 *
 *   GET    /__sandbox/health
 *   GET    /__sandbox/channels
 *   GET    /__sandbox/channels/:channelId/receipts            summary
 *   GET    /__sandbox/channels/:channelId/receipts/:userId    one resident's receipts
 *   GET    /__sandbox/channels/:channelId/duplicates?limit=   residents with > 1 receipt
 *   GET    /__sandbox/requests?channelId=&limit=              recent accepted sends
 *   GET    /__sandbox/faults     POST /__sandbox/faults     DELETE /__sandbox/faults[/:id]
 *   DELETE /__sandbox/rate-limits
 */
import { ZodError } from 'zod';
import type { World } from '../world.ts';
import type { SandboxState } from './context.ts';
import type { FaultBoard } from './faults.ts';
import type { RateLimiter } from './rate-limit.ts';
import { LineApiError, notFound } from './errors.ts';

export const TEST_HOOK_PREFIX = '/__sandbox/';

export interface TestHookDeps {
  world: World;
  state: SandboxState;
  faults: FaultBoard;
  rateLimiter: RateLimiter;
}

export interface TestHookRequest {
  method: string;
  pathname: string;
  query: URLSearchParams;
  body: Buffer;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new LineApiError(400, { message: 'The request body could not be parsed as JSON' });
  }
}

function limitParam(query: URLSearchParams, fallback: number): number {
  const n = Number(query.get('limit') ?? fallback);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 100_000) : fallback;
}

/** Returns [status, body]; throws LineApiError for 4xx. */
export function handleTestHook(req: TestHookRequest, deps: TestHookDeps): [number, unknown] {
  const parts = req.pathname.slice(TEST_HOOK_PREFIX.length).split('/').map(decodeURIComponent);
  const route = `${req.method} ${parts[0] ?? ''}`;
  const { world, state, faults } = deps;

  const channelOf = (id: string) => {
    const channel = world.byChannelId(id);
    if (!channel) throw notFound();
    return channel;
  };

  switch (route) {
    case 'GET health':
      if (parts.length === 1) return [200, { ok: true, now: new Date(world.now()).toISOString() }];
      break;
    case 'GET channels': {
      if (parts.length === 1) {
        return [
          200,
          world.channels().map((c) => ({
            channelId: c.config.channelId,
            displayName: c.config.displayName,
            friends: c.followerIds().length,
            receipts: state.book(c.config.channelId).summary(),
          })),
        ];
      }
      const channel = channelOf(parts[1]!);
      const book = state.book(channel.config.channelId);
      if (parts[2] === 'receipts' && parts.length === 3) return [200, book.summary()];
      if (parts[2] === 'receipts' && parts.length === 4) return [200, book.forResident(parts[3]!)];
      if (parts[2] === 'duplicates' && parts.length === 3) {
        return [200, { channelId: channel.config.channelId, residents: book.duplicates(limitParam(req.query, 1000)) }];
      }
      break;
    }
    case 'GET requests':
      if (parts.length === 1) {
        return [200, { requests: state.recentRequests(req.query.get('channelId') ?? undefined, limitParam(req.query, 100)) }];
      }
      break;
    case 'GET faults':
      if (parts.length === 1) return [200, { faults: faults.list() }];
      break;
    case 'POST faults':
      if (parts.length === 1) {
        try {
          return [201, faults.add(parseJson(req.body))];
        } catch (e) {
          if (e instanceof ZodError) {
            const details = e.issues.map((i) => ({ message: i.message, property: i.path.join('.') }));
            throw new LineApiError(400, { message: `The request body has ${details.length} error(s)`, details });
          }
          throw e;
        }
      }
      break;
    case 'DELETE faults':
      if (parts.length === 1) {
        faults.clear();
        return [200, {}];
      }
      if (parts.length === 2) {
        if (!faults.remove(parts[1]!)) throw notFound();
        return [200, {}];
      }
      break;
    case 'DELETE rate-limits':
      if (parts.length === 1) {
        deps.rateLimiter.reset();
        return [200, {}];
      }
      break;
  }
  throw notFound();
}
