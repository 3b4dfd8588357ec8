/**
 * Test hooks under /__sandbox/ (no bearer auth; the sandbox listens on localhost): what each
 * resident received, fault injection, the recent request log, rate-limit reset.
 *
 *   GET    /__sandbox/health
 *   GET    /__sandbox/channels
 *   GET    /__sandbox/channels/:channelId/receipts            summary
 *   GET    /__sandbox/channels/:channelId/receipts/:userId    one resident's receipts (count exact;
 *                                                             `unlisted`: old ones no longer listed)
 *   GET    /__sandbox/channels/:channelId/duplicates?limit=   residents with > 1 receipt
 *   GET    /__sandbox/requests?channelId=&limit=              recent accepted sends
 *   GET    /__sandbox/faults     POST /__sandbox/faults     DELETE /__sandbox/faults[/:id]
 *   DELETE /__sandbox/rate-limits
 *   POST   /__sandbox/channels/:channelId/residents?friends=N&newcomers=M
 *   POST   /__sandbox/channels/:channelId/residents/:userId/actions
 *
 * Residents for tests: `POST …/residents?friends=N` hands out N residents who are friends now,
 * `newcomers=M` M residents who never added the account; no resident is handed out twice, so
 * concurrent tests do not share residents. Answer: {"channelId", "friends": [userId…],
 * "newcomers": [userId…]} (fewer when the population runs out). The simulation goes on for
 * them too: with nonzero block rates a picked friend may block on its own; configure
 * `blockRatePerDay: 0` where that matters.
 *
 * A resident acts: `POST …/residents/:userId/actions` with one of
 *   {"type": "message", "text": "…"}                       a text message (1–5000 characters)
 *   {"type": "postback", "data": "…", "params": {…}}       a tap on a postback action (data 1–300
 *                                                          characters; params as LINE sends them,
 *                                                          e.g. {"date": "2025-04-01"})
 *   {"type": "follow"}      adds the account (or unblocks it: follow.isUnblocked true)
 *   {"type": "unfollow"}    blocks the account
 *   {"type": "richMenu", "area": n, "params": {…}}   a tap on area n (0-based) of the rich menu the
 *                          resident sees (switched to, linked, or the default): a postback,
 *                          datetimepicker or richmenuswitch area (the switch done first)
 *                          sends that postback event (params as the picker gives them), a message
 *                          area that message; a uri area opens the link (no webhook; "event" null,
 *                          "uri" given); 409 when no rich menu is shown, 400 for an area it lacks
 * now, in simulated time: the world changes the resident's state (friends, blocks and
 * targetedReaches in the Insight figures follow) and sends the webhook event through the normal
 * path (signed, batched, redelivered), with a reply token for message, postback and follow
 * events, usable once within a minute with POST /v2/bot/message/reply; the reply counts in the
 * resident's receipts. Answer 200 {"channelId", "userId", "status": "friend" | "blocking" |
 * "never" (after the action), "event": the webhook event object}; 404 for an unknown channel or
 * user; 409 when the action does not fit the resident's state (follow by a friend, anything else
 * by a non-friend); 400 for a malformed action.
 *
 * LINE Login (a resident who opens the channel's LIFF app), for the channels with a Login channel:
 *   GET    /__sandbox/login-channels                           [{loginChannelId, channelId}]
 *   GET    /__sandbox/login-channels/:loginChannelId/residents?limit=N
 *          some residents who can sign in (friends now, in a stable order; default 10, at most 100):
 *          {"loginChannelId", "channelId", "residents": [{"userId", "displayName"}]}
 *   POST   /__sandbox/login-channels/:loginChannelId/id-tokens
 *          {"userId", "expiresIn"?: seconds (default 3600; 0 or less: already expired), "nonce"?}
 *          → {"idToken", "expiresAt"}: the ID token LINE gives that resident's LIFF app, signed
 *          with the key published at /oauth2/v2.1/certs; 404 for an unknown channel or resident.
 */
import { z, ZodError } from 'zod';
import type { ResidentActionRequest, World } from '../world.ts';
import type { SandboxState } from './context.ts';
import type { FaultBoard } from './faults.ts';
import type { RateLimiter } from './rate-limit.ts';
import { LineApiError, notFound } from './errors.ts';
import type { LoginPlatform } from './login.ts';
import { tapRichMenuArea } from './rich-menus.ts';

export const TEST_HOOK_PREFIX = '/__sandbox/';

export interface TestHookDeps {
  world: World;
  state: SandboxState;
  faults: FaultBoard;
  rateLimiter: RateLimiter;
  login: LoginPlatform;
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

const idTokenRequestSchema = z.strictObject({
  userId: z.string().min(1).max(100),
  expiresIn: z.number().int().min(-86_400).max(86_400).optional(),
  nonce: z.string().min(1).max(255).optional(),
});

const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('follow') }),
  z.strictObject({ type: z.literal('unfollow') }),
  z.strictObject({ type: z.literal('message'), text: z.string().min(1).max(5000) }),
  z.strictObject({
    type: z.literal('postback'),
    data: z.string().min(1).max(300),
    params: z.record(z.string(), z.string()).optional(),
  }),
  z.strictObject({
    type: z.literal('richMenu'),
    area: z.number().int().min(0),
    params: z.record(z.string(), z.string()).optional(),
  }),
]);

function badRequest(e: ZodError): LineApiError {
  const details = e.issues.map((i) => ({ message: i.message, property: i.path.join('.') }));
  return new LineApiError(400, { message: `The request body has ${details.length} error(s)`, details });
}

/** A count parameter: absent → 0; otherwise an integer 0 … 10000 (400 otherwise). */
function countParam(query: URLSearchParams, name: string): number {
  const raw = query.get(name);
  if (raw === null) return 0;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 10_000) {
    throw new LineApiError(400, {
      message: 'The request has 1 error(s)',
      details: [{ message: 'must be an integer from 0 to 10000', property: name }],
    });
  }
  return n;
}

function notImplementedByWorld(what: string): LineApiError {
  return new LineApiError(501, { message: `This sandbox world does not implement ${what}` });
}

function limitParam(query: URLSearchParams, fallback: number): number {
  const n = Number(query.get('limit') ?? fallback);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 100_000) : fallback;
}

/** Returns [status, body]; throws LineApiError for 4xx. */
export function handleTestHook(
  req: TestHookRequest,
  deps: TestHookDeps,
): [number, unknown] | Promise<[number, unknown]> {
  const parts = req.pathname.slice(TEST_HOOK_PREFIX.length).split('/').map(decodeURIComponent);
  const route = `${req.method} ${parts[0] ?? ''}`;
  const { world, state, faults } = deps;

  const channelOf = (id: string) => {
    const channel = world.byChannelId(id);
    if (!channel) throw notFound();
    return channel;
  };

  switch (route) {
    case 'GET login-channels': {
      if (parts.length === 1) {
        return [
          200,
          deps.login
            .loginChannels()
            .map((l) => ({ loginChannelId: l.channelId, channelId: l.channel.config.channelId })),
        ];
      }
      const login = deps.login.loginChannel(parts[1]!);
      if (!login || parts[2] !== 'residents' || parts.length !== 3) break;
      const limit = Math.min(limitParam(req.query, 10), 100);
      const residents = login.channel
        .followerIds()
        .slice(0, limit)
        .map((userId) => ({ userId, displayName: login.channel.profile(userId)?.displayName ?? '' }));
      return [200, { loginChannelId: login.channelId, channelId: login.channel.config.channelId, residents }];
    }
    case 'POST login-channels': {
      if (parts.length !== 3 || parts[2] !== 'id-tokens') break;
      let r: z.infer<typeof idTokenRequestSchema>;
      try {
        r = idTokenRequestSchema.parse(parseJson(req.body));
      } catch (e) {
        if (e instanceof ZodError) throw badRequest(e);
        throw e;
      }
      return deps.login.issueIdToken({ loginChannelId: parts[1]!, ...r }).then((t) => [200, t]);
    }
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
    case 'POST channels': {
      const channel = channelOf(parts[1] ?? '');
      if (parts[2] !== 'residents') break;
      if (parts.length === 3) {
        const friends = countParam(req.query, 'friends');
        const newcomers = countParam(req.query, 'newcomers');
        if (!channel.pickResidents) throw notImplementedByWorld('pickResidents');
        return [
          200,
          {
            channelId: channel.config.channelId,
            friends: friends ? channel.pickResidents('friend', friends) : [],
            newcomers: newcomers ? channel.pickResidents('never', newcomers) : [],
          },
        ];
      }
      if (parts.length === 5 && parts[4] === 'actions') {
        const userId = parts[3]!;
        let parsed: z.infer<typeof actionSchema>;
        try {
          parsed = actionSchema.parse(parseJson(req.body));
        } catch (e) {
          if (e instanceof ZodError) throw badRequest(e);
          throw e;
        }
        if (!channel.act) throw notImplementedByWorld('act');
        let action: ResidentActionRequest;
        if (parsed.type === 'richMenu') {
          const tap = tapRichMenuArea(state.richMenus, channel.config.channelId, userId, parsed.area, parsed.params);
          if (tap.kind === 'uri') {
            if (!channel.isFriend(userId)) throw new LineApiError(409, { message: 'The resident is not a friend' });
            return [200, { channelId: channel.config.channelId, userId, status: 'friend', event: null, uri: tap.uri }];
          }
          action =
            tap.kind === 'message'
              ? { type: 'message', text: tap.text }
              : tap.params
                ? { type: 'postback', data: tap.data, params: tap.params }
                : { type: 'postback', data: tap.data };
        } else {
          action = parsed;
        }
        const outcome = channel.act(userId, action);
        if (!outcome.ok) {
          if (outcome.reason === 'unknown-resident') throw notFound();
          const message =
            outcome.reason === 'already-friend'
              ? 'The resident is already a friend'
              : `The resident is not a friend (status: ${outcome.status ?? 'unknown'})`;
          throw new LineApiError(409, { message });
        }
        return [200, { channelId: channel.config.channelId, userId, status: outcome.status, event: outcome.event }];
      }
      break;
    }
    case 'GET requests':
      if (parts.length === 1) {
        return [
          200,
          { requests: state.recentRequests(req.query.get('channelId') ?? undefined, limitParam(req.query, 100)) },
        ];
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
          if (e instanceof ZodError) throw badRequest(e);
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
