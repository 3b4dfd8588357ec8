/**
 * Injected faults for tests and demos: for a window of time, answer matching requests with a
 * 5xx, a 429, or never answer at all (a timeout), optionally after the request took effect —
 * LINE documents that a message may have been delivered even when the response was a 5xx or a
 * timeout, which is exactly what retry keys are for.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** Short endpoint names accepted in fault specs besides operationIds. */
const ENDPOINT_ALIASES: Record<string, readonly string[]> = {
  push: ['pushMessage'],
  reply: ['replyMessage'],
  multicast: ['multicast'],
  narrowcast: ['narrowcast'],
  broadcast: ['broadcast'],
  profile: ['getProfile'],
  followers: ['getFollowers'],
  insight: [
    'getNumberOfMessageDeliveries',
    'getNumberOfFollowers',
    'getFriendsDemographics',
    'getMessageEvent',
    'getStatisticsPerUnit',
  ],
};

export const faultSpecSchema = z
  .object({
    channelId: z.string().min(1).optional(),
    /** A short name (push, multicast, narrowcast, broadcast, reply, profile, followers, insight) or an operationId. */
    endpoint: z.string().min(1).optional(),
    kind: z.enum(['5xx', 'timeout', '429']),
    durationMs: z
      .number()
      .int()
      .positive()
      .max(24 * 3_600_000),
    /** HTTP status for kind 5xx (default 500). */
    status: z.number().int().min(500).max(599).optional(),
    /**
     * Whether the request takes effect (messages delivered, retry key accepted) before the
     * fault answers. Default: false for 5xx, true for timeout; 429 never takes effect.
     */
    delivered: z.boolean().optional(),
    /** Share of matching requests that fail (default 1). */
    probability: z.number().min(0).max(1).default(1),
    /** Fail at most this many requests, then the fault is spent. */
    count: z.number().int().positive().optional(),
    /** For timeout: how long the connection is held open before it is dropped (default 60 s). */
    hangMs: z.number().int().positive().max(600_000).default(60_000),
  })
  .strict();
export type FaultSpec = z.input<typeof faultSpecSchema>;

export interface Fault {
  id: string;
  channelId?: string;
  operations?: readonly string[];
  kind: '5xx' | 'timeout' | '429';
  status: number;
  delivered: boolean;
  probability: number;
  remaining?: number;
  hangMs: number;
  until: number;
}

export class FaultBoard {
  private faults: Fault[] = [];

  constructor(private readonly clock: () => number = () => Date.now()) {}

  /** Adds a fault from an unchecked spec; throws a ZodError when it is malformed. */
  add(input: unknown): Fault {
    const spec = faultSpecSchema.parse(input);
    const operations = spec.endpoint ? (ENDPOINT_ALIASES[spec.endpoint] ?? [spec.endpoint]) : undefined;
    const fault: Fault = {
      id: randomUUID(),
      channelId: spec.channelId,
      operations,
      kind: spec.kind,
      status: spec.kind === '429' ? 429 : (spec.status ?? 500),
      delivered: spec.kind === '429' ? false : (spec.delivered ?? spec.kind === 'timeout'),
      probability: spec.probability,
      remaining: spec.count,
      hangMs: spec.hangMs,
      until: this.clock() + spec.durationMs,
    };
    this.faults.push(fault);
    return fault;
  }

  /** The fault that applies to this request, if any (and consumes one of its count). */
  match(channelId: string, operationId: string): Fault | undefined {
    const now = this.clock();
    this.faults = this.faults.filter((f) => f.until > now && (f.remaining === undefined || f.remaining > 0));
    for (const f of this.faults) {
      if (f.channelId && f.channelId !== channelId) continue;
      if (f.operations && !f.operations.includes(operationId)) continue;
      if (f.probability < 1 && Math.random() >= f.probability) continue;
      if (f.remaining !== undefined) f.remaining--;
      return f;
    }
    return undefined;
  }

  list(): readonly Fault[] {
    const now = this.clock();
    return this.faults.filter((f) => f.until > now && (f.remaining === undefined || f.remaining > 0));
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }
}
