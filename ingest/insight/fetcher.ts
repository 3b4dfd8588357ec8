import { HTTPFetchError } from '@line/bot-sdk';
import { AppError } from '../../core/errors.ts';
import { lineClients, type LineEndpoints } from '../../core/line.ts';
import type { TenantCredentials, TenantStore } from '../../core/tenants.ts';
import type { InsightBudget } from './budget.ts';
import { addDays, tokyoDay, toYmd } from './dates.ts';
import type {
  ClickFigures,
  FollowersDay,
  InsightStore,
  MessageFigures,
  MessageStatsSnapshot,
  TrackedDelivery,
} from './store.ts';

/** What one attempt came to: stored, not ready yet at LINE, or to be tried again later. */
export type FetchOutcome<T> =
  | { kind: 'stored'; value: T }
  | { kind: 'unready' }
  | { kind: 'wait'; until: number; reason: 'budget' | 'rate_limited' };

/** A call that failed; `permanent` ones (bad token, unknown tenant …) are not worth retrying. */
export class InsightCallError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'InsightCallError';
  }
}

export interface FetcherDeps {
  tenants: TenantStore;
  store: InsightStore;
  budget: InsightBudget;
  endpoints: () => LineEndpoints;
  now: () => number;
  /** How long a channel rests after a 429 without Retry-After. */
  rateLimitedPauseMs: number;
}

/** The budget key of a tenant's channel (the tenant itself when no channel id is recorded). */
export function channelKey(creds: Pick<TenantCredentials, 'tenantId' | 'channelId'>): string {
  return creds.channelId || `tenant-${creds.tenantId}`;
}

/**
 * One Insight call at a time, through `@line/bot-sdk`'s InsightClient: takes a call from the
 * channel's budget first, turns LINE's answer into rows and stores them.
 */
export class InsightFetcher {
  /** Credentials read in the last 30 s (a backfill asks for the same tenant many times). */
  readonly #creds = new Map<string, { at: number; creds: Promise<TenantCredentials> }>();

  constructor(private readonly deps: FetcherDeps) {}

  #credentials(tenantId: string): Promise<TenantCredentials> {
    const hit = this.#creds.get(tenantId);
    if (hit && Date.now() - hit.at < 30_000) return hit.creds;
    const creds = this.deps.tenants.credentials(tenantId);
    this.#creds.set(tenantId, { at: Date.now(), creds });
    creds.catch(() => this.#creds.delete(tenantId));
    return creds;
  }

  async followersDay(tenantId: string, day: string): Promise<FetchOutcome<FollowersDay>> {
    const res = await this.#call(tenantId, (c) => c.insight.getNumberOfFollowers(toYmd(day)));
    if (res.kind === 'wait') return res;
    if (res.kind !== 'answer') throw new InsightCallError('LINE Insight API が 404 を返しました', true, 404);
    const body = res.body;
    if (body.status !== 'ready' && body.status !== 'out_of_service') return { kind: 'unready' };
    const row: FollowersDay = {
      tenantId,
      day,
      status: body.status,
      followers: count(body.followers),
      targetedReaches: count(body.targetedReaches),
      blocks: count(body.blocks),
      fetchedAt: this.deps.now(),
    };
    await this.deps.store.saveFollowersDay(row);
    return { kind: 'stored', value: row };
  }

  async messageStats(d: TrackedDelivery): Promise<FetchOutcome<MessageStatsSnapshot>> {
    const now = this.deps.now();
    const base = { tenantId: d.tenantId, kind: d.kind, key: d.key, sentAt: d.sentAt, fetchedAt: now };
    let snapshot: MessageStatsSnapshot;
    if (d.kind === 'aggregation_unit') {
      const from = tokyoDay(d.sentAt);
      const last = addDays(from, 14);
      const today = tokyoDay(now);
      const to = today < from ? from : today > last ? last : today;
      const res = await this.#call(d.tenantId, (c) => c.insight.getStatisticsPerUnit(d.key, toYmd(from), toYmd(to)));
      if (res.kind === 'wait') return res;
      if (res.kind !== 'answer') throw new InsightCallError('LINE Insight API が 404 を返しました', true, 404);
      const b = res.body;
      snapshot = {
        ...base,
        status: 'ready',
        delivered: null,
        uniqueImpression: count(b.overview?.uniqueImpression),
        uniqueClick: count(b.overview?.uniqueClick),
        uniqueMediaPlayed: count(b.overview?.uniqueMediaPlayed),
        uniqueMediaPlayed100Percent: count(b.overview?.uniqueMediaPlayed100Percent),
        ...figures(b.messages ?? [], b.clicks ?? []),
        response: b,
      };
    } else {
      const res = await this.#call(d.tenantId, (c) => c.insight.getMessageEvent(d.key), { notFoundIsAnswer: true });
      if (res.kind === 'not_found') {
        snapshot = {
          ...base,
          status: 'not_found',
          delivered: null,
          uniqueImpression: null,
          uniqueClick: null,
          uniqueMediaPlayed: null,
          uniqueMediaPlayed100Percent: null,
          impression: null,
          click: null,
          mediaPlayed: null,
          messages: [],
          clicks: [],
          response: null,
        };
      } else {
        if (res.kind === 'wait') return res;
        const b = res.body;
        snapshot = {
          ...base,
          status: 'ready',
          delivered: count(b.overview?.delivered),
          uniqueImpression: count(b.overview?.uniqueImpression),
          uniqueClick: count(b.overview?.uniqueClick),
          uniqueMediaPlayed: count(b.overview?.uniqueMediaPlayed),
          uniqueMediaPlayed100Percent: count(b.overview?.uniqueMediaPlayed100Percent),
          ...figures(b.messages ?? [], b.clicks ?? []),
          response: b,
        };
      }
    }
    await this.deps.store.saveMessageStats(snapshot);
    return { kind: 'stored', value: snapshot };
  }

  async #call<T>(
    tenantId: string,
    fn: (c: ReturnType<typeof lineClients>) => Promise<T>,
    opts: { notFoundIsAnswer?: boolean } = {},
  ): Promise<
    | { kind: 'answer'; body: T }
    | { kind: 'not_found' }
    | { kind: 'wait'; until: number; reason: 'budget' | 'rate_limited' }
  > {
    let creds: TenantCredentials;
    try {
      creds = await this.#credentials(tenantId);
    } catch (e) {
      if (e instanceof AppError && e.status < 500) throw new InsightCallError(e.message, true, e.status);
      throw e;
    }
    const endpoints = this.deps.endpoints();
    if (creds.lineApi === 'sandbox' && !endpoints.sandbox) {
      // May change (the sandbox starts with the suite), so not permanent.
      throw new InsightCallError(
        `テナント ${tenantId} はサンドボックスに接続する設定ですが、サンドボックスが起動していません`,
        false,
      );
    }
    const clients = lineClients(creds, endpoints);
    const channel = channelKey(creds);
    const retryAt = await this.deps.budget.take(channel);
    if (retryAt > 0) return { kind: 'wait', until: retryAt, reason: 'budget' };
    try {
      return { kind: 'answer', body: await fn(clients) };
    } catch (e) {
      if (!(e instanceof HTTPFetchError))
        throw new InsightCallError(`LINE Insight API に接続できません: ${(e as Error).message}`, false);
      if (e.status === 429) {
        const now = Date.now();
        const until = now + retryAfterMs(e.headers.get('retry-after'), now, this.deps.rateLimitedPauseMs);
        await this.deps.budget.pause(channel, until, now);
        return { kind: 'wait', until, reason: 'rate_limited' };
      }
      if (e.status === 404 && opts.notFoundIsAnswer) return { kind: 'not_found' };
      const permanent = e.status >= 400 && e.status < 500 && e.status !== 408;
      throw new InsightCallError(
        `LINE Insight API がエラーを返しました (HTTP ${e.status}): ${lineMessage(e.body)}`,
        permanent,
        e.status,
      );
    }
  }
}

/** A count from LINE: absent or null stays null (LINE's "not available"), never 0. */
function count(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Sum of parts, or null when there are none or any of them is null. */
function sumOrNull(values: Array<number | null>): number | null {
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0);
}

type LineMessage = {
  seq?: number;
  impression?: number | null;
  uniqueImpression?: number | null;
  mediaPlayed?: number | null;
  mediaPlayed25Percent?: number | null;
  mediaPlayed50Percent?: number | null;
  mediaPlayed75Percent?: number | null;
  mediaPlayed100Percent?: number | null;
  uniqueMediaPlayed?: number | null;
  uniqueMediaPlayed25Percent?: number | null;
  uniqueMediaPlayed50Percent?: number | null;
  uniqueMediaPlayed75Percent?: number | null;
  uniqueMediaPlayed100Percent?: number | null;
};
type LineClick = {
  seq?: number;
  url?: string;
  click?: number | null;
  uniqueClick?: number | null;
  uniqueClickOfRequest?: number | null;
};

function figures(messages: LineMessage[], clicks: LineClick[]) {
  const ms: MessageFigures[] = messages.map((m, i) => ({
    seq: m.seq ?? i + 1,
    impression: count(m.impression),
    uniqueImpression: count(m.uniqueImpression),
    mediaPlayed: count(m.mediaPlayed),
    mediaPlayed25Percent: count(m.mediaPlayed25Percent),
    mediaPlayed50Percent: count(m.mediaPlayed50Percent),
    mediaPlayed75Percent: count(m.mediaPlayed75Percent),
    mediaPlayed100Percent: count(m.mediaPlayed100Percent),
    uniqueMediaPlayed: count(m.uniqueMediaPlayed),
    uniqueMediaPlayed25Percent: count(m.uniqueMediaPlayed25Percent),
    uniqueMediaPlayed50Percent: count(m.uniqueMediaPlayed50Percent),
    uniqueMediaPlayed75Percent: count(m.uniqueMediaPlayed75Percent),
    uniqueMediaPlayed100Percent: count(m.uniqueMediaPlayed100Percent),
  }));
  const cs: ClickFigures[] = clicks.map((c, i) => ({
    seq: c.seq ?? i + 1,
    url: c.url ?? '',
    click: count(c.click),
    uniqueClick: count(c.uniqueClick),
    uniqueClickOfRequest: count(c.uniqueClickOfRequest),
  }));
  return {
    messages: ms,
    clicks: cs,
    impression: sumOrNull(ms.map((m) => m.impression)),
    click: sumOrNull(cs.map((c) => c.click)),
    mediaPlayed: sumOrNull(ms.map((m) => m.mediaPlayed)),
  };
}

/** Retry-After as seconds or an HTTP date; the fallback when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number, fallback: number): number {
  if (!header) return fallback;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return Math.max(1000, s * 1000);
  const t = Date.parse(header);
  return Number.isFinite(t) && t > now ? t - now : fallback;
}

function lineMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { message?: string };
    return j.message ?? body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}
