/**
 * One channel's residents, held in typed arrays so that millions fit in memory:
 * - `state[i]`: 0 never a friend, 1 friend, 2 blocking the account;
 * - `perm` partitions residents into three contiguous segments [never | friends | blocking] with
 *   `pos` as its inverse, so a random member of any group is drawn in O(1) and every transition
 *   (never→friend, friend→blocking, blocking→friend) is one swap at a segment boundary;
 * - `followedAt[i]`: simulated epoch seconds of the first follow (for subscription periods).
 * Everything else about a resident (id, name, demographics) is derived from a hash of its index.
 */
import { AREA_UNKNOWN, attributesOf, DemographicCounts, type Attributes } from './demographics.ts';
import { UserIdCodec } from './ids.ts';
import { nameOf } from './names.ts';
import { hash2, hashString, hash3, unit } from './prng.ts';
import { jstDay, jstDayStart } from './clock.ts';

export const NEVER = 0;
export const FRIEND = 1;
export const BLOCKING = 2;

/** How long before the simulation start the account is taken to have existed. */
export const HISTORY_DAYS = 365;

export interface PopulationOptions {
  channelId: string;
  seed: number;
  count: number;
  initialFriendRatio: number;
  /** Simulated start, epoch ms. */
  start: number;
}

export class Population {
  readonly count: number;
  readonly key: number;
  /** Home prefecture index (shared by every channel with the same seed). */
  readonly home: number;
  readonly ids: UserIdCodec;
  readonly state: Uint8Array;
  readonly perm: Int32Array;
  readonly pos: Int32Array;
  readonly followedAt: Uint32Array;
  /** perm[0, friendStart) never; [friendStart, blockStart) friends; [blockStart, count) blocking. */
  friendStart: number;
  blockStart: number;
  /** Residents who ever followed (LINE's `followers`: never decreases). */
  everFollowed: number;
  readonly demographics = new DemographicCounts();
  /** First day (Asia/Tokyo) of the account's existence and its initial follows per day since then. */
  readonly createdDay: number;
  readonly initialFollowsPerDay: Uint32Array;
  /** Bumped on every change of friendship; lets callers cache derived lists. */
  version = 0;

  constructor(opts: PopulationOptions) {
    const n = opts.count;
    this.count = n;
    this.key = hash2(hashString(opts.channelId, 0x7a1e), opts.seed | 0);
    this.home = hash2(opts.seed | 0, 0x4ef) % AREA_UNKNOWN;
    this.ids = new UserIdCodec(this.key, n);
    this.state = new Uint8Array(n);
    this.perm = new Int32Array(n);
    this.pos = new Int32Array(n);
    this.followedAt = new Uint32Array(n);
    const startDay = jstDay(opts.start);
    this.createdDay = startDay - HISTORY_DAYS;
    this.initialFollowsPerDay = new Uint32Array(HISTORY_DAYS);
    // Initial friends followed during the HISTORY_DAYS whole days before the start day, so that
    // every follow on or after the start day is one the simulation reports by webhook.
    const createdMs = jstDayStart(startDay - HISTORY_DAYS);
    const span = jstDayStart(startDay) - createdMs;
    const ratio = opts.initialFriendRatio;
    const key = this.key;

    let friends = 0;
    for (let i = 0; i < n; i++) {
      if (unit(hash3(key, i, 301)) < ratio) {
        this.state[i] = FRIEND;
        friends++;
      }
    }
    this.friendStart = n - friends;
    this.blockStart = n;
    this.everFollowed = friends;
    let nv = 0;
    let fr = this.friendStart;
    for (let i = 0; i < n; i++) {
      if (this.state[i] === FRIEND) {
        this.perm[fr] = i;
        this.pos[i] = fr++;
        // Earlier friends are more common than recent ones: skew towards the account's beginning.
        const u = unit(hash3(key, i, 302));
        const at = createdMs + Math.floor(Math.sqrt(u) * span);
        const atMs = Math.min(at, createdMs + span - 1);
        this.followedAt[i] = Math.floor(atMs / 1000);
        const d = jstDay(atMs) - this.createdDay;
        if (d >= 0 && d < HISTORY_DAYS) this.initialFollowsPerDay[d]!++;
        this.demographics.add(this.attributes(i), 1);
      } else {
        this.perm[nv] = i;
        this.pos[i] = nv++;
      }
    }
  }

  get friends(): number {
    return this.blockStart - this.friendStart;
  }
  get blocking(): number {
    return this.count - this.blockStart;
  }
  get neverFriends(): number {
    return this.friendStart;
  }

  attributes(i: number): Attributes {
    return attributesOf(this.key, i, this.home);
  }

  userId(i: number): string {
    return this.ids.idOf(i);
  }

  indexOf(userId: string): number {
    return this.ids.indexOf(userId);
  }

  indexOfBytes(bytes: Uint8Array, offset: number): number {
    return this.ids.indexOfBytes(bytes, offset);
  }

  profileOf(i: number): { displayName: string; statusMessage?: string } {
    const g = this.attributes(i).gender;
    const female = g === 1 || (g === 2 && (hash3(this.key, i, 205) & 1) === 1);
    return nameOf(this.key, i, female);
  }

  randomNever(u: number): number {
    return this.perm[Math.floor(u * this.friendStart)]!;
  }
  randomFriend(u: number): number {
    return this.perm[this.friendStart + Math.floor(u * this.friends)]!;
  }
  randomBlocking(u: number): number {
    return this.perm[this.blockStart + Math.floor(u * this.blocking)]!;
  }

  private swap(a: number, b: number): void {
    if (a === b) return;
    const ia = this.perm[a]!;
    const ib = this.perm[b]!;
    this.perm[a] = ib;
    this.pos[ib] = a;
    this.perm[b] = ia;
    this.pos[ia] = b;
  }

  /** First follow: never → friend. */
  follow(i: number, atMs: number): void {
    if (this.state[i] !== NEVER) throw new Error(`resident ${i} is not a new friend`);
    this.swap(this.pos[i]!, this.friendStart - 1);
    this.friendStart--;
    this.state[i] = FRIEND;
    this.followedAt[i] = Math.floor(atMs / 1000);
    this.everFollowed++;
    this.demographics.add(this.attributes(i), 1);
    this.version++;
  }

  /** friend → blocking. */
  block(i: number): void {
    if (this.state[i] !== FRIEND) throw new Error(`resident ${i} is not a friend`);
    this.swap(this.pos[i]!, this.blockStart - 1);
    this.blockStart--;
    this.state[i] = BLOCKING;
    this.demographics.add(this.attributes(i), -1);
    this.version++;
  }

  /** blocking → friend. LINE keeps the original friendship date for subscription periods. */
  unblock(i: number): void {
    if (this.state[i] !== BLOCKING) throw new Error(`resident ${i} is not blocking`);
    this.swap(this.pos[i]!, this.blockStart);
    this.blockStart++;
    this.state[i] = FRIEND;
    this.demographics.add(this.attributes(i), 1);
    this.version++;
  }

  /** Number of initial friends who had followed by the end of `day` (a day before the start). */
  initialFollowersBy(day: number): number {
    const last = Math.min(day - this.createdDay, HISTORY_DAYS - 1);
    let sum = 0;
    for (let d = 0; d <= last; d++) sum += this.initialFollowsPerDay[d]!;
    return sum;
  }
}
