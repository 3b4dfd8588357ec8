/**
 * The contract between the sandbox's HTTP layer (sandbox/api/) and its simulated world
 * (sandbox/residents/): the API layer validates, authenticates, rate-limits and records
 * receipts; the world knows who the residents are, what they do, and what LINE's Insight
 * API would report about them. Neither side imports the other's internals.
 */
import { z } from 'zod';

/** Behaviour of one channel's simulated residents. Every field is optional. */
export const residentsConfigSchema = z.object({
  /** Residents who exist and may befriend the account over time. */
  count: z.number().int().min(0).max(5_000_000).default(1000),
  /** PRNG seed: the same seed gives the same residents and the same behaviour. */
  seed: z.number().int().default(1),
  /** Share of residents who are already friends at the start of the simulation. */
  initialFriendRatio: z.number().min(0).max(1).default(0.3),
  /** Expected new follows per day, as a share of residents who are not friends yet. */
  followRatePerDay: z.number().min(0).max(1).default(0.002),
  /** Expected blocks per day, as a share of current friends (before messaging fatigue). */
  blockRatePerDay: z.number().min(0).max(1).default(0.0005),
  /** Expected unblocks per day, as a share of residents who block the account. */
  unblockRatePerDay: z.number().min(0).max(1).default(0.002),
  /** Probability that a recipient opens a delivered message. */
  openProbability: z.number().min(0).max(1).default(0.6),
  /** Probability that a resident who opened it clicks a link in it. */
  clickProbability: z.number().min(0).max(1).default(0.1),
  /** Deliveries per resident per 7 days above which the block probability rises. */
  fatigueThresholdPerWeek: z.number().int().min(0).default(3),
  /** Extra block probability per delivery received above the threshold. */
  fatigueBlockProbability: z.number().min(0).max(1).default(0.01),
  /**
   * Extra blocks after given moments (deliveries made outside the sandbox, such as the demo's history):
   * each adds `probability` × friends expected blocks, spread evenly over the `hours` after `at` (epoch ms).
   */
  blockBursts: z
    .array(
      z.object({
        at: z.number(),
        hours: z
          .number()
          .positive()
          .max(24 * 30),
        probability: z.number().min(0).max(1),
      }),
    )
    .max(10_000)
    .optional(),
});
export type ResidentsConfig = z.infer<typeof residentsConfigSchema>;

export const channelConfigSchema = z.object({
  channelId: z.string().min(1),
  botUserId: z.string().regex(/^U[0-9a-f]{32}$/),
  channelSecret: z.string().min(1),
  channelAccessToken: z.string().min(1),
  /** Where webhooks are sent; without it, residents still act but nothing is sent. */
  webhookUrl: z.string().url().optional(),
  /** LINE's "use webhook redelivery" setting. */
  redelivery: z.boolean().default(true),
  displayName: z.string().default('サンドボックス公式アカウント'),
  /** A LINE Login channel under the same provider (its residents' user IDs are this channel's): LIFF. */
  login: z.object({ channelId: z.string().regex(/^\d{1,20}$/), channelSecret: z.string().min(1) }).optional(),
  residents: residentsConfigSchema.default(residentsConfigSchema.parse({})),
});
export type ChannelConfig = z.infer<typeof channelConfigSchema>;

/** Requests per window, per channel and endpoint group. LINE's documented values by default. */
export const rateLimitsSchema = z.object({
  /** push, reply, profile, followers ids, validate, bot info, quota … */
  defaultPerSecond: z.number().int().positive().default(2000),
  multicastPerSecond: z.number().int().positive().default(200),
  /** narrowcast, broadcast, and every Insight endpoint. */
  perHourEndpoints: z.number().int().positive().default(60),
  /** create and delete rich menu, delete alias, batch progress (default 100). */
  richMenuPerHour: z.number().int().positive().optional(),
});
export type RateLimits = z.infer<typeof rateLimitsSchema>;

export const clockConfigSchema = z.object({
  /** Simulated time starts here (ISO 8601); default: now. */
  start: z.string().datetime({ offset: true }).optional(),
  /** Simulated milliseconds per real millisecond while behind real time (1 = real time). */
  speed: z.number().positive().max(10_000_000).default(1),
});
export type ClockConfig = z.infer<typeof clockConfigSchema>;

export const sandboxConfigSchema = z.object({
  channels: z.array(channelConfigSchema).min(1),
  rateLimits: rateLimitsSchema.default(rateLimitsSchema.parse({})),
  clock: clockConfigSchema.default(clockConfigSchema.parse({})),
});
export type SandboxConfig = z.infer<typeof sandboxConfigSchema>;

export type DeliveryKind = 'push' | 'multicast' | 'broadcast' | 'narrowcast' | 'reply';

/** What the API layer tells the world after it accepted a send. */
export interface DeliveryNotice {
  /** The x-line-request-id the API answered with. */
  requestId: string;
  kind: DeliveryKind;
  /**
   * Resolved recipients who actually received it (friends only). Empty when recipientIndexes
   * is given and the API layer never made the IDs (a multicast read straight from its bytes);
   * userIdAt gives any of them.
   */
  recipients: readonly string[];
  /**
   * The same recipients' residentIndex values, in the same order — present when the world
   * implements the optional residentIndex fast path, so it need not parse the IDs again.
   */
  recipientIndexes?: Int32Array;
  /** Number of message objects in the request (1–5). */
  messageCount: number;
  /** The message objects as sent (for click targets and the receipt log). */
  messages: readonly unknown[];
  customAggregationUnits?: readonly string[];
  /** Simulated time of acceptance, epoch ms. */
  at: number;
}

export interface Profile {
  userId: string;
  displayName: string;
  pictureUrl?: string;
  statusMessage?: string;
  language?: string;
}

/** LINE Insight shapes (see ../shared/line-openapi/insight.yml); the world applies LINE's privacy rules. */
export interface FollowersInsight {
  status: 'ready' | 'unready' | 'out_of_service';
  followers?: number;
  targetedReaches?: number;
  blocks?: number;
}

/** A resident's attributes as LINE's demographic Insight and narrowcast filters see them. */
export interface ResidentDemographics {
  gender: 'male' | 'female' | 'unknown';
  /** Age tile name of GET /v2/bot/insight/demographic (e.g. 'from20to24', 'from70') or 'unknown'. */
  age: string;
  /** Lower bound of the age band in years; undefined when the age is unknown. */
  ageFrom?: number;
  /** Area tile name (a prefecture, e.g. '徳島') or 'unknown'. */
  area: string;
  /** Narrowcast area code (e.g. 'jp_36'); undefined when the area is unknown. */
  areaCode?: string;
  appType: 'ios' | 'android' | 'others';
  /** Whole days since the resident first added the account (simulated time). */
  friendDays: number;
}

/**
 * What a resident does when a test tells it to (POST /__sandbox/channels/:channelId/residents/
 * :userId/actions): the same actions the simulation produces on its own.
 */
export type ResidentActionRequest =
  | { type: 'follow' }
  | { type: 'unfollow' }
  | { type: 'message'; text: string }
  | { type: 'postback'; data: string; params?: Record<string, string> };

/** A resident's relation to the account: friend, blocking it, or never added it. */
export type ResidentStatus = 'friend' | 'blocking' | 'never';

export type ResidentActOutcome =
  /** The webhook event the action caused (already on its way to the webhook URL). */
  | { ok: true; status: ResidentStatus; event: Record<string, unknown> }
  /** Nothing happened: no such resident, a follow by a friend, or another action by a non-friend. */
  | { ok: false; reason: 'unknown-resident' | 'already-friend' | 'not-friend'; status?: ResidentStatus };

export interface ChannelWorld {
  readonly config: ChannelConfig;
  /** Residents who are friends now (followed and not blocking), in a stable order. */
  followerIds(): readonly string[];
  isFriend(userId: string): boolean;
  /** Profile of a resident who is a friend; undefined otherwise (the API answers 404). */
  profile(userId: string): Profile | undefined;
  /** Record an accepted delivery: drives opens, clicks and fatigue blocks. */
  recordDelivery(notice: DeliveryNotice): void;
  /** GET /v2/bot/insight/followers?date=yyyyMMdd (the current simulated day and later: unready). */
  followersInsight(date: string): FollowersInsight;
  /** GET /v2/bot/insight/message/delivery?date=yyyyMMdd — a GetNumberOfMessageDeliveriesResponse. */
  messageDeliveriesInsight(date: string): Record<string, unknown>;
  /** GET /v2/bot/insight/demographic — a GetFriendsDemographicsResponse. */
  demographicInsight(): Record<string, unknown>;
  /** GET /v2/bot/insight/message/event?requestId= — a GetMessageEventResponse, or undefined (404). */
  messageEventInsight(requestId: string): Record<string, unknown> | undefined;
  /** GET /v2/bot/insight/message/event/aggregation — a GetStatisticsPerUnitResponse. */
  aggregationUnitInsight(unit: string, from: string, to: string): Record<string, unknown>;
  /** Custom aggregation unit names used so far this month (for /v2/bot/message/aggregation/*). */
  aggregationUnitsThisMonth(): readonly string[];
  /**
   * Optional (added by the API layer): consumes a reply token this world issued in a webhook
   * event and returns the user ID the reply goes to; undefined when the token is unknown,
   * already used or expired (the API answers 400 "Invalid reply token"). Worlds without it get
   * LINE's rule approximated: any non-empty token is accepted once, with no known recipient.
   */
  consumeReplyToken?(replyToken: string): string | undefined;
  /**
   * Optional (added by the world): the attributes of a resident who is a friend — the same ones
   * demographicInsight() and targetedReaches count — for narrowcast demographic filters;
   * undefined for anyone else.
   */
  demographicsOf?(userId: string): ResidentDemographics | undefined;
  /**
   * Optional fast path (added by the API layer; implement all three or none): residents' dense
   * indexes 0 … count−1, so the API layer checks friendship and counts receipts for millions of
   * residents in typed arrays instead of hashing every user ID a second time.
   * residentIndex: the index of userId, or −1 when it is not one of this channel's residents.
   */
  residentIndex?(userId: string): number;
  /**
   * Optional fast path: residentIndex of the 33 ASCII bytes of a user ID at `offset` in `bytes`
   * (a request body), so that a multicast's IDs need not become strings at all.
   */
  residentIndexOfBytes?(bytes: Uint8Array, offset: number): number;
  /** Optional fast path: whether the resident at this index is a friend now. */
  isFriendAt?(index: number): boolean;
  /** Optional fast path: the user ID of the resident at this index. */
  userIdAt?(index: number): string;
  /**
   * Optional (test hook): the resident acts now, in simulated time — state, Insight figures and
   * the webhook event (with a reply token where LINE gives one) as if it had acted on its own.
   */
  act?(userId: string, action: ResidentActionRequest): ResidentActOutcome;
  /**
   * Optional (test hook): n residents with this status that no earlier call picked (fewer when
   * the population runs out), so that concurrent tests do not share residents.
   */
  pickResidents?(status: 'friend' | 'never', n: number): string[];
}

export interface World {
  /** Simulated now, epoch ms. */
  now(): number;
  channels(): readonly ChannelWorld[];
  byChannelId(channelId: string): ChannelWorld | undefined;
  byAccessToken(token: string): ChannelWorld | undefined;
  /** Starts the simulation (resident behaviour over time, webhooks). */
  start(): void;
  /** Stops timers and waits for webhook sends in flight. */
  stop(): Promise<void>;
}
