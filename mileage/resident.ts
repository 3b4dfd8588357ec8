/**
 * What residents do: scan an event's QR code, report a daily activity (from the rich menu), look at
 * their points, history and card. The resident's identity comes from a verified LIFF ID token or a
 * webhook event, never from a parameter.
 */
import { AppError } from '../core/errors.ts';
import { tokyoToday } from '../core/time.ts';
import type { Awards } from './awards.ts';
import type { CardService } from './cards.ts';
import type { Catalogue } from './catalogue.ts';
import type { AwardGuards } from './guards.ts';
import type { LedgerReads } from './ledger.ts';
import type { Members } from './members.ts';
import type { AwardResult, LedgerEntry, Programme, ResidentSummary } from './schemas.ts';
import { type CodeKeys, checkSessionCode, codeErrors, type SessionClaims } from './session-code.ts';

export interface ResidentDeps {
  catalogue: Catalogue;
  awards: Awards;
  guards: AwardGuards;
  members: Members;
  ledger: LedgerReads;
  cards: CardService;
  codeKeys: CodeKeys;
  now: () => number;
}

export class ResidentMileage {
  /** Codes already verified (a crowd scans the same one): tenant + code → its claims. */
  readonly #verified = new Map<string, SessionClaims>();

  constructor(private readonly d: ResidentDeps) {}

  /** The code's claims: verified once per code string, its expiry checked every time. */
  async #claims(tenantId: string, code: string, now: number): Promise<SessionClaims> {
    const key = `${tenantId}:${code}`;
    const hit = this.#verified.get(key);
    if (hit) {
      if (now > hit.expiresAt) throw codeErrors.expired();
      return hit;
    }
    const claims = await checkSessionCode(this.d.codeKeys, tenantId, code, now);
    if (this.#verified.size >= 1000) this.#verified.clear();
    this.#verified.set(key, claims);
    return claims;
  }

  /** A scanned session code: points once per resident per session. */
  async scan(tenantId: string, userId: string, code: string): Promise<AwardResult> {
    const now = this.d.now();
    const claims = await this.#claims(tenantId, code, now);
    const session = await this.d.catalogue.session(tenantId, claims.sessionId);
    if (!session) {
      throw new AppError(
        'session_not_found',
        'この QR コードは現在使われていません。会場の係の方にお尋ねください',
        404,
      );
    }
    if (now < Date.parse(session.validFrom)) {
      throw new AppError(
        'session_not_started',
        'この QR コードの受付はまだ始まっていません。受付時間になってから読み取ってください',
        400,
      );
    }
    if (now > Date.parse(session.validUntil)) {
      throw new AppError('session_expired', 'この QR コードの受付期間は終了しました。ポイントは付与されません', 400);
    }
    const programme = await this.d.catalogue.programme(tenantId, session.programmeId);
    const activity = await this.d.catalogue.activity(tenantId, session.programmeId, session.activityId);
    return this.d.awards.award({
      tenantId,
      programme,
      activity,
      userId,
      entryId: `scan:${session.sessionId}:${userId}`,
      kind: 'scan',
      points: activity.points,
      activityOn: tokyoToday(now),
      sourceId: session.sessionId,
      actor: 'resident',
    });
  }

  /**
   * A self-reported activity (a quick reply's postback): once per webhook event (LINE redelivers
   * with the same id), within the activity's daily cap, counted on the Tokyo day of the event.
   */
  async selfReport(
    tenantId: string,
    userId: string,
    activityId: string,
    event: { webhookEventId: string; timestamp: number },
  ): Promise<AwardResult> {
    const day = tokyoToday(event.timestamp);
    const programme = await this.d.catalogue.current(tenantId, day);
    if (!programme) throw new AppError('no_programme', '現在ポイントを記録できるマイレージ事業はありません', 409);
    const activity = programme.activities.find((a) => a.activityId === activityId);
    if (!activity || activity.method !== 'self_report') {
      throw new AppError('activity_not_found', 'この活動は自己申告では記録できません', 404);
    }
    return this.d.awards.award({
      tenantId,
      programme,
      activity,
      userId,
      entryId: `self:${event.webhookEventId}`,
      kind: 'self_report',
      points: activity.points,
      activityOn: day,
      sourceId: event.webhookEventId,
      actor: 'resident',
    });
  }

  /**
   * The resident's programme, points, progress, recent entries, member number and card. The points
   * are the guards' balance (every acknowledged award at once); the entries come from the ledger,
   * where an award arrives with the event log's shipping (about a second later), led by the awards
   * this process acknowledged that the ledger has not got yet.
   */
  async summary(tenantId: string, userId: string, opts: { join?: boolean } = {}): Promise<ResidentSummary> {
    const day = tokyoToday(this.d.now());
    const programme = await this.d.catalogue.forResident(tenantId, day);
    // a first visit to the mileage pages makes the resident a participant (a member number)
    const memberNo = opts.join
      ? (await this.d.members.ensure(tenantId, userId)).memberNo
      : ((await this.d.members.of(tenantId, userId)) ?? null);
    if (!programme) {
      return { programme: null, memberNo, balance: 0, goal: 0, progress: 0, recent: [], card: null };
    }
    const [balance, history, card] = await Promise.all([
      this.d.guards.balance(tenantId, programme.programmeId, userId),
      this.d.ledger.history(tenantId, programme, userId, { limit: 5, offset: 0 }),
      this.d.cards.card(tenantId, programme.programmeId, userId),
    ]);
    let shown = card;
    // a card whose issue failed after its award (or a goal lowered later) is issued on the next look
    if (!card && memberNo && balance >= programme.goalPoints && day >= programme.startsOn && day <= programme.endsOn) {
      shown = (await this.d.cards.issueOnGoal(tenantId, programme, userId, memberNo)) ?? null;
    }
    // awards acknowledged a moment ago that the ledger has not got yet come first
    const stored = new Set(history.entries.map((e) => e.entryId));
    const fresh = this.d.awards.recent(tenantId, programme, userId).filter((e) => !stored.has(e.entryId));
    return {
      programme: publicProgramme(programme),
      memberNo,
      balance,
      goal: programme.goalPoints,
      progress: programme.goalPoints > 0 ? Math.min(1, Math.max(0, balance / programme.goalPoints)) : 0,
      recent: [...fresh, ...history.entries].slice(0, 5),
      card: shown,
    };
  }

  async history(
    tenantId: string,
    userId: string,
    page: { limit: number; offset: number },
  ): Promise<{ entries: LedgerEntry[]; total: number; limit: number; offset: number }> {
    const programme = await this.d.catalogue.forResident(tenantId, tokyoToday(this.d.now()));
    if (!programme) return { entries: [], total: 0, ...page };
    return { ...(await this.d.ledger.history(tenantId, programme, userId, page)), ...page };
  }
}

export function publicProgramme(p: Programme): NonNullable<ResidentSummary['programme']> {
  return {
    programmeId: p.programmeId,
    name: p.name,
    startsOn: p.startsOn,
    endsOn: p.endsOn,
    goalPoints: p.goalPoints,
    activities: p.activities
      .filter((a) => !a.retired)
      .map((a) => ({
        activityId: a.activityId,
        name: a.name,
        points: a.points,
        method: a.method,
        dailyCap: a.dailyCap,
        periodCap: a.periodCap,
      })),
  };
}
