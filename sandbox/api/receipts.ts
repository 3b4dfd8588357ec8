/**
 * Who received what, per channel, compact enough for millions of residents: user IDs are
 * interned into dense indexes (LINE user IDs, `U` + 32 hex digits, are stored as four 32-bit
 * words in an open-addressing table), receipt counts live in a typed array, and each accepted
 * request keeps its recipients as an Int32Array of those indexes.
 */
import type { DeliveryKind } from '../world.ts';

const EMPTY = -1;

/** Interns user IDs into dense indexes 0, 1, 2 … in first-seen order. */
export class ResidentIndex {
  private slots = new Int32Array(1 << 12).fill(EMPTY);
  private words = new Uint32Array(4 * 1024);
  /** IDs that are not `U` + 32 lowercase hex digits (rare; kept as strings). */
  private readonly odd = new Map<string, number>();
  private readonly oddById = new Map<number, string>();
  private size = 0;
  private readonly scratch = new Uint32Array(4);

  get count(): number {
    return this.size;
  }

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
    let h = Math.imul(s[0]! ^ Math.imul(s[1]!, 0x9e3779b1) ^ Math.imul(s[2]!, 0x85ebca6b) ^ s[3]!, 0xc2b2ae35);
    h = (h ^ (h >>> 15)) & mask;
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
  /** Indexes (ResidentIndex) of the residents who received it. */
  recipients: Int32Array;
}

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
  receipts: { requestId: string; kind: DeliveryKind; retryKey: string | null; acceptedAt: string; messageCount: number }[];
}

/** One channel's receipts. */
export class ReceiptBook {
  private readonly index = new ResidentIndex();
  private counts = new Uint32Array(1024);
  private readonly requests: AcceptedRequest[] = [];
  private totalReceipts = 0;
  private distinct = 0;
  private multiple = 0;

  constructor(readonly channelId: string) {}

  /** Records that each recipient (friends only, already filtered) received this request once. */
  record(
    request: Omit<AcceptedRequest, 'recipients' | 'channelId'>,
    recipients: readonly string[],
  ): AcceptedRequest {
    const indexes = new Int32Array(recipients.length);
    for (let r = 0; r < recipients.length; r++) {
      const i = this.index.intern(recipients[r]!);
      indexes[r] = i;
      if (i >= this.counts.length) {
        const grown = new Uint32Array(Math.max(this.counts.length * 2, i + 1));
        grown.set(this.counts);
        this.counts = grown;
      }
      const before = this.counts[i]!;
      this.counts[i] = before + 1;
      if (before === 0) this.distinct++;
      else if (before === 1) this.multiple++;
    }
    this.totalReceipts += recipients.length;
    const accepted: AcceptedRequest = { ...request, channelId: this.channelId, recipients: indexes };
    this.requests.push(accepted);
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
    return i < 0 ? 0 : this.counts[i]!;
  }

  forResident(userId: string): ResidentReceipts {
    const i = this.index.find(userId);
    const receipts: ResidentReceipts['receipts'] = [];
    if (i >= 0) {
      for (const r of this.requests) {
        if (!r.recipients.includes(i)) continue;
        receipts.push({
          requestId: r.requestId,
          kind: r.kind,
          retryKey: r.retryKey ?? null,
          acceptedAt: new Date(r.acceptedAt).toISOString(),
          messageCount: r.messageCount,
        });
      }
    }
    return { channelId: this.channelId, userId, count: i < 0 ? 0 : this.counts[i]!, receipts };
  }

  /** Residents with more than one receipt (up to limit), with their counts. */
  duplicates(limit: number): { userId: string; count: number }[] {
    const out: { userId: string; count: number }[] = [];
    for (let i = 0; i < this.index.count && out.length < limit; i++) {
      if (this.counts[i]! > 1) out.push({ userId: this.index.userId(i), count: this.counts[i]! });
    }
    return out;
  }

  /** User IDs of the recipients of an accepted request (for redelivery narrowcasts). */
  recipientsOf(requestId: string): string[] | undefined {
    const r = this.requests.find((q) => q.requestId === requestId);
    return r ? Array.from(r.recipients, (i) => this.index.userId(i)) : undefined;
  }

  accepted(): readonly AcceptedRequest[] {
    return this.requests;
  }
}
