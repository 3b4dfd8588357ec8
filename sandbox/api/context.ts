/**
 * What route handlers see: the authenticated channel, the validated request, and the sandbox's
 * shared state (receipts, monthly usage, narrowcasts in progress). `deliver` is the one place
 * where an accepted send reaches residents.
 */
import { randomBytes } from 'node:crypto';
import type { ChannelWorld, DeliveryKind, SandboxConfig, World } from '../world.ts';
import { ReceiptBook, ResidentIndex, WorldResidentIndex, type AcceptedRequest } from './receipts.ts';
import { NarrowcastRunner } from './narrowcast.ts';
import { RichMenuBook } from './rich-menus.ts';
import { TOKYO_OFFSET_MS } from '../../core/time.ts';

export interface ApiReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** For sends with a retry key: the `sentMessages` a 409 repeats (push only). */
  sentMessages?: unknown[];
  /** A binary answer (e.g. a rich menu image) instead of JSON `body`. */
  raw?: { contentType: string; bytes: Buffer };
}

export interface ApiContext {
  requestId: string;
  operationId: string;
  channel: ChannelWorld;
  /** Parsed, schema-validated JSON body (undefined for GET). */
  body: any;
  /**
   * Multicast read by the fast path (fast-multicast.ts): the resident indexes of `to`, which is
   * then absent from `body`.
   */
  toIndexes?: Int32Array;
  /** Query parameters after validation (integers coerced). */
  query: Record<string, unknown>;
  /** Path parameters, e.g. { userId }. */
  params: Record<string, string>;
  retryKey?: string;
  state: SandboxState;
  /** The request body as received (what binary uploads read). */
  raw?: Buffer;
  /** The request's Content-Type header. */
  contentType?: string;
}

export type Handler = (ctx: ApiContext) => ApiReply;

export interface RecentRequest {
  requestId: string;
  channelId: string;
  kind: DeliveryKind;
  retryKey: string | null;
  acceptedAt: string;
  recipients: number;
  messageCount: number;
}

const RECENT_LIMIT = 1000;

/** yyyyMM of a simulated instant in Asia/Tokyo. */
export function tokyoMonth(epochMs: number): string {
  const d = new Date(epochMs + TOKYO_OFFSET_MS);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

export class SandboxState {
  private readonly books = new Map<string, ReceiptBook>();
  /** channelId → yyyyMM → messages counted against the quota. */
  private readonly usage = new Map<string, Map<string, number>>();
  /** The last accepted sends over all channels (formatted when read). */
  private readonly recent: AcceptedRequest[] = [];
  /** The Asia/Tokyo month last counted and the simulated-time range it covers. */
  private month = { key: '', from: 0, to: 0 };
  private nextMessageId = 500_000_000_000_000_000n;
  /** Reply tokens used so far, when the world does not issue its own. */
  readonly usedReplyTokens = new Set<string>();
  readonly narrowcasts: NarrowcastRunner;
  /** Every channel's rich menus and default menu. */
  readonly richMenus = new RichMenuBook();

  constructor(
    readonly world: World,
    readonly config: SandboxConfig,
  ) {
    this.narrowcasts = new NarrowcastRunner(this);
  }

  book(channelId: string): ReceiptBook {
    let b = this.books.get(channelId);
    if (!b) {
      const channel = this.world.byChannelId(channelId);
      const fast = channel && hasIndexFastPath(channel) ? new WorldResidentIndex(channel) : new ResidentIndex();
      b = new ReceiptBook(channelId, fast);
      this.books.set(channelId, b);
    }
    return b;
  }

  /**
   * Delivers an accepted send: keeps the candidates who are friends now (once each), records
   * their receipts, tells the world, and counts the quota. Returns the accepted request.
   */
  deliver(
    channel: ChannelWorld,
    request: {
      requestId: string;
      kind: DeliveryKind;
      retryKey?: string;
      messages: readonly unknown[];
      customAggregationUnits?: readonly string[];
    },
    candidates: readonly string[],
    /** True when candidates come from followerIds() (distinct friends already). */
    candidatesAreFriends = false,
    /** candidates' residentIndexes() when the caller resolved them already. */
    resolved?: Int32Array,
  ): AcceptedRequest {
    const book = this.book(channel.config.channelId);
    const { recipients, indexes } = selectRecipients(channel, book, candidates, candidatesAreFriends, resolved);
    const at = this.world.now();
    const accepted = book.record(
      {
        requestId: request.requestId,
        kind: request.kind,
        retryKey: request.retryKey,
        acceptedAt: Date.now(),
        simulatedAt: at,
        messageCount: request.messages.length,
        messages: request.messages,
      },
      indexes,
    );
    channel.recordDelivery({
      requestId: request.requestId,
      kind: request.kind,
      recipients,
      recipientIndexes: book.index instanceof WorldResidentIndex ? indexes : undefined,
      messageCount: request.messages.length,
      messages: request.messages,
      customAggregationUnits: request.customAggregationUnits,
      at,
    });
    if (request.kind !== 'reply') this.countUsage(channel.config.channelId, at, indexes.length);
    this.recent.push(accepted);
    if (this.recent.length > RECENT_LIMIT * 2) this.recent.splice(0, this.recent.length - RECENT_LIMIT);
    return accepted;
  }

  /**
   * The world's resident index of each user ID (−1 for strangers), when the world offers the
   * index fast path; undefined otherwise.
   */
  residentIndexes(channel: ChannelWorld, userIds: readonly string[]): Int32Array | undefined {
    if (!hasIndexFastPath(channel)) return undefined;
    const out = new Int32Array(userIds.length);
    for (let i = 0; i < userIds.length; i++) out[i] = channel.residentIndex(userIds[i]!);
    return out;
  }

  /** Messages sent this (simulated, Asia/Tokyo) month: one per recipient per request. */
  usageThisMonth(channelId: string): number {
    return this.usage.get(channelId)?.get(tokyoMonth(this.world.now())) ?? 0;
  }

  recentRequests(channelId?: string, limit = 100): RecentRequest[] {
    const all = channelId ? this.recent.filter((r) => r.channelId === channelId) : this.recent;
    return all.slice(-limit).map((r) => ({
      requestId: r.requestId,
      channelId: r.channelId,
      kind: r.kind,
      retryKey: r.retryKey ?? null,
      acceptedAt: new Date(r.acceptedAt).toISOString(),
      recipients: r.recipientCount,
      messageCount: r.messageCount,
    }));
  }

  /** `sentMessages` for push and reply responses. */
  sentMessages(messages: readonly { type?: unknown }[]): { id: string; quoteToken?: string }[] {
    return messages.map((m) => {
      const id = String(this.nextMessageId++);
      return QUOTABLE.has(String(m.type)) ? { id, quoteToken: randomBytes(48).toString('base64url') } : { id };
    });
  }

  private countUsage(channelId: string, at: number, n: number): void {
    let months = this.usage.get(channelId);
    if (!months) {
      months = new Map();
      this.usage.set(channelId, months);
    }
    let m = this.month;
    if (at < m.from || at >= m.to) {
      // Month boundaries in Asia/Tokyo (UTC+9, no daylight saving time).
      const d = new Date(at + TOKYO_OFFSET_MS);
      const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) - TOKYO_OFFSET_MS;
      const to = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - TOKYO_OFFSET_MS;
      m = this.month = { key: tokyoMonth(at), from, to };
    }
    months.set(m.key, (months.get(m.key) ?? 0) + n);
  }
}

/** Message types that LINE returns a quote token for. */
const QUOTABLE = new Set(['text', 'textV2', 'sticker', 'image', 'video']);

type IndexedChannel = ChannelWorld & Required<Pick<ChannelWorld, 'residentIndex' | 'isFriendAt' | 'userIdAt'>>;

export function hasIndexFastPath(channel: ChannelWorld): channel is IndexedChannel {
  return (
    typeof channel.residentIndex === 'function' &&
    typeof channel.isFriendAt === 'function' &&
    typeof channel.userIdAt === 'function'
  );
}

/** Selections of up to this many indexes are deduplicated in the table below (at most half full). */
const SMALL_SELECTION = 512;
const SMALL_SLOTS = 1024;
const smallKeys = new Int32Array(SMALL_SLOTS);
/** A slot is taken in the current selection when its stamp is the current one. */
const smallStamps = new Uint32Array(SMALL_SLOTS);
let smallStamp = 0;

function nextSmallSelection(): void {
  smallStamp = (smallStamp + 1) >>> 0;
  if (smallStamp === 0) {
    smallStamps.fill(0);
    smallStamp = 1;
  }
}

/** True the first time index i (≥ 0) is seen since nextSmallSelection(). */
function firstInSmallSelection(i: number): boolean {
  let h = Math.imul(i, 0x9e3779b1) >>> 22; // 10 bits: SMALL_SLOTS
  for (;;) {
    if (smallStamps[h] !== smallStamp) {
      smallStamps[h] = smallStamp;
      smallKeys[h] = i;
      return true;
    }
    if (smallKeys[h] === i) return false;
    h = (h + 1) & (SMALL_SLOTS - 1);
  }
}

/** The candidates who are friends now, once each, with their receipt-book indexes. */
function selectRecipients(
  channel: ChannelWorld,
  book: ReceiptBook,
  candidates: readonly string[],
  candidatesAreFriends: boolean,
  resolved: Int32Array | undefined,
): { recipients: readonly string[]; indexes: Int32Array } {
  if (hasIndexFastPath(channel)) {
    if (resolved && candidates.length === 0) {
      // Indexes only (a multicast read by the fast path): the IDs are never made. Up to 500 of
      // them, deduplicated in a small table that stays in cache rather than in the receipt book's
      // per-resident cells (a fan-out's batches name residents all over the population: one
      // cache miss fewer per recipient).
      let n = 0;
      const small = resolved.length <= SMALL_SELECTION;
      if (small) nextSmallSelection();
      else book.beginSelection();
      for (let k = 0; k < resolved.length; k++) {
        const i = resolved[k]!;
        if (i < 0 || !channel.isFriendAt(i) || !(small ? firstInSmallSelection(i) : book.firstTime(i))) continue;
        resolved[n++] = i;
      }
      return { recipients: [], indexes: n === resolved.length ? resolved : resolved.slice(0, n) };
    }
    const indexes = resolved && resolved.length === candidates.length ? resolved : new Int32Array(candidates.length);
    if (indexes !== resolved)
      for (let k = 0; k < candidates.length; k++) indexes[k] = channel.residentIndex(candidates[k]!);
    if (candidatesAreFriends) return { recipients: candidates, indexes };
    // Compacts in place: kept ones move to the front, in order. Usually every candidate is kept,
    // and the candidates themselves are the recipients.
    let recipients: string[] | undefined;
    let n = 0;
    book.beginSelection();
    for (let k = 0; k < candidates.length; k++) {
      const i = indexes[k]!;
      if (i < 0 || !channel.isFriendAt(i) || !book.firstTime(i)) {
        recipients ??= candidates.slice(0, k);
        continue;
      }
      recipients?.push(candidates[k]!);
      indexes[n++] = i;
    }
    return { recipients: recipients ?? candidates, indexes: n === indexes.length ? indexes : indexes.slice(0, n) };
  }
  const indexes = new Int32Array(candidates.length);
  const recipients: string[] = [];
  const seen = candidates.length > 1 && !candidatesAreFriends ? new Set<string>() : undefined;
  let n = 0;
  for (const id of candidates) {
    if (seen) {
      if (seen.has(id)) continue;
      seen.add(id);
    }
    if (!candidatesAreFriends && !channel.isFriend(id)) continue;
    const i = book.index.intern(id);
    if (i < 0) continue;
    recipients.push(id);
    indexes[n++] = i;
  }
  return { recipients, indexes: indexes.subarray(0, n) };
}
