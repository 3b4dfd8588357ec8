/**
 * Narrowcast: resolving `recipient` / `filter` / `limit` to residents, and the asynchronous
 * progress LINE reports (waiting → sending → succeeded | failed).
 *
 * Demographic filters match the residents' own attributes when the world offers them
 * (ChannelWorld.demographicsOf: the same attributes the demographic Insight and targetedReaches
 * count); otherwise attributes derived deterministically from each user ID. As on LINE, a
 * narrowcast with a demographic filter reaches only friends whose gender, age and area are all
 * known — the ones `targetedReaches` counts — so a filter that admits every value reaches exactly
 * targetedReaches friends. Resolution runs in slices between event-loop turns, so a narrowcast to
 * millions of friends does not stall the API. Audiences are not modelled (manage-audience is out of
 * scope): an audience recipient is rejected.
 */
import type { ChannelWorld } from '../world.ts';
import type { SandboxState } from './context.ts';
import { LineApiError } from './errors.ts';

type Json = Record<string, any>;

export interface NarrowcastJob {
  requestId: string;
  channelId: string;
  phase: 'waiting' | 'sending' | 'succeeded' | 'failed';
  acceptedTime: string;
  completedTime?: string;
  targetCount?: number;
  successCount?: number;
  failureCount?: number;
  errorCode?: number;
  failedDescription?: string;
}

/** Milliseconds (real time) a narrowcast spends in "waiting" before recipients are resolved. */
const WAITING_MS = 300;
/** Recipients delivered per real millisecond while "sending" (at least SENDING_MIN_MS). */
const SENDING_PER_MS = 5_000;
const SENDING_MIN_MS = 200;

export class NarrowcastRunner {
  private readonly jobs = new Map<string, NarrowcastJob>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly state: SandboxState) {}

  /** Throws a LineApiError for requests LINE would reject synchronously. */
  static check(body: Json): void {
    const audience = findAudience(body.recipient, 'recipient');
    if (audience) {
      throw new LineApiError(400, {
        message: 'The request body has 1 error(s)',
        details: [{ message: 'The audience group does not exist', property: audience }],
      });
    }
  }

  start(channel: ChannelWorld, requestId: string, retryKey: string | undefined, body: Json): void {
    const job: NarrowcastJob = {
      requestId,
      channelId: channel.config.channelId,
      phase: 'waiting',
      acceptedTime: new Date().toISOString(),
    };
    this.jobs.set(requestId, job);
    this.later(WAITING_MS, async () => {
      let targets: string[];
      try {
        targets = await resolveRecipients(channel, this.state, body, () => this.stopped);
      } catch {
        Object.assign(job, {
          phase: 'failed',
          errorCode: 1,
          failedDescription: 'internal error',
          completedTime: new Date().toISOString(),
        });
        return;
      }
      if (this.stopped) return;
      job.phase = 'sending';
      job.targetCount = targets.length;
      const accepted = this.state.deliver(
        channel,
        { requestId, kind: 'narrowcast', retryKey, messages: body.messages },
        targets,
        true,
      );
      const sendingMs = Math.max(SENDING_MIN_MS, targets.length / SENDING_PER_MS);
      this.later(sendingMs, () => {
        job.phase = 'succeeded';
        job.successCount = accepted.recipientCount;
        job.failureCount = targets.length - accepted.recipientCount;
        job.completedTime = new Date().toISOString();
      });
    });
  }

  progress(channelId: string, requestId: string): NarrowcastJob | undefined {
    const job = this.jobs.get(requestId);
    return job && job.channelId === channelId ? job : undefined;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(ms: number, fn: () => void | Promise<void>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }
}

function findAudience(recipient: Json | undefined, path: string): string | undefined {
  if (!recipient || typeof recipient !== 'object') return undefined;
  if (recipient.type === 'audience') return `${path}.audienceGroupId`;
  if (recipient.type !== 'operator') return undefined;
  for (const op of ['and', 'or'] as const) {
    const list = recipient[op];
    if (!Array.isArray(list)) continue;
    for (let i = 0; i < list.length; i++) {
      const hit = findAudience(list[i], `${path}.${op}[${i}]`);
      if (hit) return hit;
    }
  }
  return findAudience(recipient.not, `${path}.not`);
}

/** Friends examined per slice before yielding to the event loop. */
const RESOLVE_SLICE = 20_000;

/**
 * The friends a narrowcast reaches: recipient conditions, then (when there is a demographic
 * filter) only targetable friends that pass it, then `limit.max` at random.
 */
export async function resolveRecipients(
  channel: ChannelWorld,
  state: SandboxState,
  body: Json,
  cancelled: () => boolean = () => false,
): Promise<string[]> {
  const friends = channel.followerIds();
  const recipientTest = body.recipient ? recipientPredicate(body.recipient, channel, state) : undefined;
  const demographic = body.filter?.demographic;
  const attributes = demographic ? attributesOf(channel) : undefined;
  const filterTest = demographic ? demographicPredicate(demographic) : undefined;
  let out: string[] = [];
  for (let from = 0; from < friends.length; from += RESOLVE_SLICE) {
    if (from > 0) {
      await new Promise<void>((r) => setImmediate(r));
      if (cancelled()) return [];
    }
    const to = Math.min(friends.length, from + RESOLVE_SLICE);
    for (let k = from; k < to; k++) {
      const id = friends[k]!;
      if (recipientTest && !recipientTest(id)) continue;
      if (filterTest) {
        const a = attributes!(id);
        if (!a || !filterTest(a)) continue;
      }
      out.push(id);
    }
  }
  const max = body.limit?.max;
  if (typeof max === 'number' && out.length > max) out = sample(out, max);
  return out;
}

function recipientPredicate(r: Json, channel: ChannelWorld, state: SandboxState): (id: string) => boolean {
  switch (r.type) {
    case 'redelivery': {
      const ids = new Set(state.book(channel.config.channelId).recipientsOf(String(r.requestId)) ?? []);
      return (id) => ids.has(id);
    }
    case 'operator':
      return combine(r, (x) => recipientPredicate(x, channel, state));
    default:
      return () => false;
  }
}

function combine<T>(node: Json, inner: (x: Json) => (v: T) => boolean): (v: T) => boolean {
  const tests: ((v: T) => boolean)[] = [];
  if (Array.isArray(node.and)) {
    const parts: ((v: T) => boolean)[] = node.and.map(inner);
    tests.push((v) => parts.every((t) => t(v)));
  }
  if (Array.isArray(node.or)) {
    const parts: ((v: T) => boolean)[] = node.or.map(inner);
    tests.push((v) => parts.some((t) => t(v)));
  }
  if (node.not) {
    const t = inner(node.not);
    tests.push((v) => !t(v));
  }
  return (v) => tests.every((t) => t(v));
}

const AGE_STEPS = [
  'age_15',
  'age_20',
  'age_25',
  'age_30',
  'age_35',
  'age_40',
  'age_45',
  'age_50',
  'age_55',
  'age_60',
  'age_65',
  'age_70',
];
const PERIOD_DAYS: Record<string, number> = { day_7: 7, day_30: 30, day_90: 90, day_180: 180, day_365: 365 };

interface Attributes {
  gender: string;
  /** Years (lower bound of the band); NaN when unknown. */
  age: number;
  appType: string;
  /** Narrowcast area code, e.g. jp_13; '' when unknown. */
  area: string;
  friendDays: number;
}

/**
 * A friend's attributes for demographic filters, or undefined when the friend cannot be targeted
 * by them (LINE: gender, age or area not known with enough certainty; no longer a friend).
 */
function attributesOf(channel: ChannelWorld): (id: string) => Attributes | undefined {
  const fromWorld = channel.demographicsOf?.bind(channel);
  if (!fromWorld) return derived;
  return (id) => {
    const d = fromWorld(id);
    if (!d || d.gender === 'unknown' || d.ageFrom === undefined || d.areaCode === undefined) return undefined;
    return { gender: d.gender, age: d.ageFrom, appType: d.appType, area: d.areaCode, friendDays: d.friendDays };
  };
}

function demographicPredicate(f: Json): (a: Attributes) => boolean {
  switch (f.type) {
    case 'gender': {
      const allowed = new Set<string>(f.oneOf ?? []);
      return (a) => allowed.has(a.gender);
    }
    case 'appType': {
      const allowed = new Set<string>(f.oneOf ?? []);
      return (a) => allowed.has(a.appType);
    }
    case 'area': {
      const allowed = new Set<string>(f.oneOf ?? []);
      return (a) => allowed.has(a.area);
    }
    case 'age': {
      const gte = f.gte ? 15 + 5 * AGE_STEPS.indexOf(f.gte) : -Infinity;
      const lt = f.lt ? 15 + 5 * AGE_STEPS.indexOf(f.lt) : Infinity;
      return (a) => a.age >= gte && a.age < lt;
    }
    case 'subscriptionPeriod': {
      const gte = f.gte ? (PERIOD_DAYS[f.gte] ?? 0) : -Infinity;
      const lt = f.lt ? (PERIOD_DAYS[f.lt] ?? Infinity) : Infinity;
      return (a) => a.friendDays >= gte && a.friendDays < lt;
    }
    case 'operator':
      return combine(f, demographicPredicate);
    default:
      return () => false;
  }
}

/** Stable pseudo-demographics of a user ID (FNV-1a based), for worlds without demographicsOf. */
export function derived(id: string): Attributes {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  const u = (salt: number) => {
    let x = Math.imul(h ^ salt, 0x9e3779b1);
    x ^= x >>> 16;
    return (x >>> 0) / 2 ** 32;
  };
  return {
    gender: u(1) < 0.48 ? 'female' : u(1) < 0.9 ? 'male' : 'unknown',
    age: 12 + Math.floor(u(2) * 75),
    appType: u(3) < 0.65 ? 'ios' : 'android',
    area: `jp_${String(1 + Math.floor(u(4) * 47)).padStart(2, '0')}`,
    friendDays: Math.floor(u(5) * 1500),
  };
}

function sample(ids: string[], n: number): string[] {
  const a = ids.slice();
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}
