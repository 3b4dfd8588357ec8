/**
 * GET /v2/bot/insight/followers figures, applying LINE's rules (insight.yml):
 * - `followers`: times a user added the account as a friend for the first time, as of the end of
 *   the day; it never decreases (blocks and unblocks do not change it);
 * - `blocks`: users blocking the account at the end of the day (decreases on unblock);
 * - `targetedReaches`: friends whose gender, age and area are all known.
 * So over one day: Δfollowers = follow events with isUnblocked false, Δblocks = unfollow events −
 * follow events with isUnblocked true.
 *
 * Dates: before 2016-11-01 (when LINE started keeping these figures) → out_of_service; the current
 * simulated day and later, or a day the simulation has not finished yet → unready. The account is
 * taken to have existed for HISTORY_DAYS before the simulation start, its initial friends having
 * followed over that time: days in that period are ready with the initial friends who had followed
 * by then (no blocks); days before it are ready with zeros.
 */
import type { FollowersInsight } from '../world.ts';
import type { ChannelSim } from './behaviour.ts';
import { ymdToDay } from './clock.ts';

export const SERVICE_START_DAY = ymdToDay('20161101')!;

export function followersInsight(sim: ChannelSim, day: number, today: number): FollowersInsight {
  if (day < SERVICE_START_DAY) return { status: 'out_of_service' };
  if (day >= today || day > sim.lastClosedDay) return { status: 'unready' };
  if (day >= sim.startDay) {
    const s = sim.snapshot(day);
    if (!s) return { status: 'unready' };
    return { status: 'ready', followers: s.followers, targetedReaches: s.targetedReaches, blocks: s.blocks };
  }
  const p = sim.population;
  if (day < p.createdDay) return { status: 'ready', followers: 0, targetedReaches: 0, blocks: 0 };
  const followers = p.initialFollowersBy(day);
  // Before the start every follower was still a friend; the targetable share is the initial one.
  const initialFriends = p.initialFollowersBy(sim.startDay - 1);
  const targeted = initialFriends > 0 ? Math.round((followers * sim.initialTargetable) / initialFriends) : 0;
  return { status: 'ready', followers, targetedReaches: targeted, blocks: 0 };
}
