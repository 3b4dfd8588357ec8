/**
 * Who received what, per channel, compact enough for millions of residents: user IDs are
 * interned into dense indexes (LINE user IDs, `U` + 32 hex digits, are stored as four 32-bit
 * words in an open-addressing table), receipt counts live in a typed array, and each accepted
 * request keeps its recipients as an Int32Array of those indexes. The per-request lists are
 * bounded (by default 20 million indexes, 80 MB): beyond that the oldest requests' lists are
 * dropped — their receipts stay counted, only the per-resident listing no longer shows them.
 */
import type { ChannelWorld, DeliveryKind } from '../world.ts';

const EMPTY = -1;

/** Maps user IDs to dense indexes and back. */
export interface ResidentIndexer {
  /** Index of userId, adding it when the indexer can; −1 when it cannot be indexed. */
  intern(userId: string): number;
  /** Index of userId, or −1 when unknown. */
  find(userId: string): number;
  userId(index: number): string;
}

/** The world's own resident indexes (ChannelWorld's optional fast path). */
export class WorldResidentIndex implements ResidentIndexer {
  constructor(private readonly channel: Required<Pick<ChannelWorld, 'residentIndex' | 'userIdAt'>>) {}
  intern(userId: string): number {
    return this.channel.residentIndex(userId);
  }
  find(userId: string): number {
    return this.channel.residentIndex(userId);
  }
  userId(index: number): string {
    return this.channel.userIdAt(index);
  }
}

/** Interns user IDs into dense indexes 0, 1, 2 … in first-seen order. */
export class ResidentIndex implements ResidentIndexer {
  private slots = new Int32Array(1 << 12).fill(EMPTY);
  private words = new Uint32Array(4 * 1024);
  /** IDs that are not `U` + 32 lowercase hex digits (rare; kept as strings). */
  private readonly odd = new Map<string, number>();
  private readonly oddById = new Map<number, string>();
  private size = 0;
  private readonly scratch = new Uint32Array(4);

  /** Index of userId, or -1 when never seen. */
  find(userId: string): number {
    if (!this.pack(userId)) return this.odd.get(userId) ?? EMPTY;
    return this.slots[this.probe()]!;
  }

  /** Index of userId, adding it when new. */
  intern(userId: string): number {
    if (!this.pack(userId)) {
      let i = this.odd.get(userId);
      if (i === undefined) {
        i = this.allocate();
        this.odd.set(userId, i);
        this.oddById.set(i, userId);
      }
      return i;
    }
    const slot = this.probe();
    const found = this.slots[slot]!;
    if (found !== EMPTY) return found;
    const i = this.allocate();
    this.words.set(this.scratch, i * 4);
    this.slots[slot] = i;
    if (this.size * 10 > this.slots.length * 7) this.rehash();
    return i;
  }

  userId(index: number): string {
    const odd = this.oddById.get(index);
    if (odd !== undefined) return odd;
    let s = 'U';
    for (let w = 0; w < 4; w++) s += this.words[index * 4 + w]!.toString(16).padStart(8, '0');
    return s;
  }

  private allocate(): number {
    const i = this.size++;
    if (this.words.length < this.size * 4) {
      const grown = new Uint32Array(this.words.length * 2);
      grown.set(this.words);
      this.words = grown;
    }
    return i;
  }

  /** Parses `U` + 32 hex digits into scratch; false for any other shape. */
  private pack(userId: string): boolean {
    if (userId.length !== 33 || userId.charCodeAt(0) !== 85) return false;
    for (let w = 0; w < 4; w++) {
      let v = 0;
      for (let k = 0; k < 8; k++) {
        const c = userId.charCodeAt(1 + w * 8 + k);
        let d: number;
        if (c >= 48 && c <= 57) d = c - 48;
        else if (c >= 97 && c <= 102) d = c - 87;
        else return false;
        v = v * 16 + d;
      }
      this.scratch[w] = v;
    }
    return true;
  }

  /** Slot holding scratch's key, or the empty slot where it belongs. */
  private probe(): number {
    const s = this.scratch;
    const mask = this.slots.length - 1;
    // Combine the four words, then murmur3's fmix32 so every input bit reaches the low bits.
    let h = Math.imul(s[0]! ^ 0x9e3779b1, 0x85ebca6b);
    h = Math.imul(h ^ s[1]!, 0xc2b2ae35);
    h = Math.imul(h ^ s[2]!, 0x85ebca6b);
    h = Math.imul(h ^ s[3]!, 0xc2b2ae35);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h = (h ^ (h >>> 16)) & mask;
    for (;;) {
      const i = this.slots[h]!;
      if (i === EMPTY) return h;
      const o = i * 4;
      const w = this.words;
      if (w[o] === s[0] && w[o + 1] === s[1] && w[o + 2] === s[2] && w[o + 3] === s[3]) return h;
      h = (h + 1) & mask;
    }
  }

  private rehash(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(EMPTY);
    for (let j = 0; j < old.length; j++) {
      const i = old[j]!;
      if (i === EMPTY || this.oddById.has(i)) continue;
      for (let w = 0; w < 4; w++) this.scratch[w] = this.words[i * 4 + w]!;
      this.slots[this.probe()] = i;
    }
  }
}

export interface AcceptedRequest {
  requestId: string;
  channelId: string;
  kind: DeliveryKind;
  retryKey?: string;
  /** Real time of acceptance (epoch ms). */
  acceptedAt: number;
  /** Simulated time of acceptance (epoch ms). */
  simulatedAt: number;
  messageCount: number;
  /** The message objects as sent (shared by every recipient's receipt; tests read what arrived). */
  messages?: readonly unknown[];
  /** How many residents received it. */
  recipientCount: number;
  /** Indexes (ResidentIndex) of the residents who received it; empty once dropped (see ReceiptBook). */
  recipients: Int32Array;
}

const NO_RECIPIENTS = new Int32Array(0);
/** Default bound on the recipient indexes kept in per-request lists, per channel. */
export const MAX_LISTED_RECIPIENTS = 20_000_000;

export interface ReceiptSummary {
  channelId: string;
  /** Distinct residents who received at least one message. */
  totalRecipients: number;
  /** Sum over residents of deliveries received (one per accepted request). */
  totalReceipts: number;
  /** Residents who received more than one delivery. */
  residentsWithMultipleReceipts: number;
  acceptedRequests: number;
}

export interface ResidentReceipts {
  channelId: string;
  userId: string;
  count: number;
  receipts: {
    requestId: string;
    kind: DeliveryKind;
    retryKey: string | null;
    acceptedAt: string;
    messageCount: number;
    messages?: readonly unknown[];
  }[];
  /** Receipts counted in `count` whose requests' lists were dropped (too old to list). */
  unlisted: number;
}

/** One channel's receipts. */
export class ReceiptBook {
  /**
   * Per resident index i: counts[i] its receipt count, up to 254; 255 means "see `big`" (the
   * exact count of the few residents with that many). One byte per resident keeps the array a
   * quarter of the size 32-bit counts would be, so more of it stays in cache: a fan-out's batches
   * name residents all over the population, and each recipient costs a random access here.
   */
  private counts = new Uint8Array(1024);
  private readonly big = new Map<number, number>();
  /** Per resident index: the serial of the last request that selected it (dedupes `to` without a Set); made when first needed. */
  private serials = new Uint32Array(0);
  /** Highest index + 1 that has a count. */
  private span = 0;
  private readonly requests: AcceptedRequest[] = [];
  private totalReceipts = 0;
  private distinct = 0;
  private multiple = 0;
  private serial = 0;
  /** Recipient indexes held in per-request lists, and the oldest request still holding its list. */
  private listed = 0;
  private firstListed = 0;

  constructor(
    readonly channelId: string,
    readonly index: ResidentIndexer = new ResidentIndex(),
    private readonly maxListed = MAX_LISTED_RECIPIENTS,
  ) {}

  private grow(i: number): void {
    const grown = new Uint8Array(Math.max(this.counts.length * 2, i + 1));
    grown.set(this.counts);
    this.counts = grown;
  }

  /** Starts selecting the recipients of a new request (see `firstTime`). */
  beginSelection(): void {
    this.serial++;
  }

  /** True the first time an index is seen since `beginSelection`. */
  firstTime(i: number): boolean {
    if (i >= this.serials.length) {
      const grown = new Uint32Array(Math.max(this.serials.length * 2, i + 1, 1024));
      grown.set(this.serials);
      this.serials = grown;
    }
    if (this.serials[i] === this.serial) return false;
    this.serials[i] = this.serial;
    return true;
  }

  /** Records that each recipient (distinct friends, by index) received this request once. */
  record(
    request: Omit<AcceptedRequest, 'recipients' | 'recipientCount' | 'channelId'>,
    recipients: Int32Array,
  ): AcceptedRequest {
    // the largest index first (one growth at most), then one pass with the counters in locals
    let top = -1;
    for (let r = 0; r < recipients.length; r++) if (recipients[r]! > top) top = recipients[r]!;
    if (top >= this.counts.length) this.grow(top);
    if (top >= this.span) this.span = top + 1;
    const counts = this.counts;
    let distinct = 0;
    let multiple = 0;
    for (let r = 0; r < recipients.length; r++) {
      const i = recipients[r]!;
      const before = counts[i]!;
      if (before < 254) counts[i] = before + 1;
      else if (before === 254) {
        counts[i] = 255;
        this.big.set(i, 255);
      } else this.big.set(i, this.big.get(i)! + 1);
      if (before === 0) distinct++;
      else if (before === 1) multiple++;
    }
    this.distinct += distinct;
    this.multiple += multiple;
    this.totalReceipts += recipients.length;
    const accepted: AcceptedRequest = {
      ...request,
      channelId: this.channelId,
      recipientCount: recipients.length,
      recipients,
    };
    this.requests.push(accepted);
    this.listed += recipients.length;
    // Drop the oldest lists beyond the bound (never the newest request's).
    while (this.listed > this.maxListed && this.firstListed < this.requests.length - 1) {
      const old = this.requests[this.firstListed++]!;
      this.listed -= old.recipients.length;
      old.recipients = NO_RECIPIENTS;
    }
    return accepted;
  }

  summary(): ReceiptSummary {
    return {
      channelId: this.channelId,
      totalRecipients: this.distinct,
      totalReceipts: this.totalReceipts,
      residentsWithMultipleReceipts: this.multiple,
      acceptedRequests: this.requests.length,
    };
  }

  countFor(userId: string): number {
    const i = this.index.find(userId);
    return this.countAt(i);
  }

  /** Receipts of the resident at a dense index. */
  countAt(index: number): number {
    if (index < 0 || index >= this.counts.length) return 0;
    const c = this.counts[index]!;
    return c === 255 ? this.big.get(index)! : c;
  }

  forResident(userId: string): ResidentReceipts {
    const i = this.index.find(userId);
    const receipts: ResidentReceipts['receipts'] = [];
    if (i >= 0) {
      for (let k = this.firstListed; k < this.requests.length; k++) {
        const r = this.requests[k]!;
        if (!r.recipients.includes(i)) continue;
        receipts.push({
          requestId: r.requestId,
          kind: r.kind,
          retryKey: r.retryKey ?? null,
          acceptedAt: new Date(r.acceptedAt).toISOString(),
          messageCount: r.messageCount,
          ...(r.messages ? { messages: r.messages } : {}),
        });
      }
    }
    const count = this.countFor(userId);
    return { channelId: this.channelId, userId, count, receipts, unlisted: count - receipts.length };
  }

  /** Residents with more than one receipt (up to limit), with their counts. */
  duplicates(limit: number): { userId: string; count: number }[] {
    const out: { userId: string; count: number }[] = [];
    for (let i = 0; i < this.span && out.length < limit; i++) {
      if (this.counts[i]! > 1) out.push({ userId: this.index.userId(i), count: this.countAt(i) });
    }
    return out;
  }

  /** User IDs of the recipients of an accepted request (for redelivery narrowcasts); undefined once dropped. */
  recipientsOf(requestId: string): string[] | undefined {
    const r = this.requests.find((q) => q.requestId === requestId);
    if (!r || (r.recipients.length === 0 && r.recipientCount > 0)) return undefined;
    return Array.from(r.recipients, (i) => this.index.userId(i));
  }

  accepted(): readonly AcceptedRequest[] {
    return this.requests;
  }
}
