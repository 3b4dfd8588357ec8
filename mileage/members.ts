/**
 * Member numbers (会員番号): given on a resident's first participation, `<tenant>-<serial>-<Luhn>`
 * (core/check-digit.ts). Serials come from the guards' per-tenant counter in Redis (INCR, set from
 * ClickHouse's largest serial whenever the guards are rebuilt), so concurrent first awards get
 * distinct numbers. A member row goes through the event log (ingest.tables) and is durable there
 * before its number is shown: on a first LIFF visit alone, with a first award in the award's append
 * (the ledger entry carries the number too). The shipper puts it into mileage_members about a second
 * later; the guards' rebuild waits for that.
 */
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { memberNumber, parseMemberNumber } from '../core/check-digit.ts';
import { AppError } from '../core/errors.ts';
import { chDateTime } from '../core/time.ts';
import { z } from '../core/zod.ts';
import type { LogTables } from '../ingest/index.ts';
import { type AwardGuards, STALE } from './guards.ts';
import { logRefused } from './logged.ts';

const memberRow = z.object({ user_id: z.string(), member_no: z.string() });

export interface MemberRow extends Record<string, unknown> {
  tenant_id: string;
  user_id: string;
  member_no: string;
  joined_at: string;
}

/** mileage_members' columns the event log ships. */
export const MEMBER_COLUMNS = ['tenant_id', 'user_id', 'member_no', 'joined_at'] as const satisfies ReadonlyArray<
  keyof MemberRow
>;

export class Members {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly guards: AwardGuards,
    private readonly tables: LogTables,
    /** Resolves once the rows acknowledged so far are in ClickHouse (a number given a moment ago). */
    private readonly shipped: () => Promise<void> = async () => {},
  ) {}

  /** The resident's member number, made on first call and durable in the event log before this answers. */
  async ensure(tenantId: string, userId: string): Promise<{ memberNo: string; created: boolean }> {
    return this.guards.run(tenantId, async (epoch) => {
      const got = await this.guards.member(tenantId, epoch, userId);
      if (got === STALE) return STALE;
      const memberNo = memberNumber(tenantId, got.serial);
      if (!got.created) return { memberNo, created: false };
      await this.store(tenantId, epoch, userId, got.serial, [this.row(tenantId, userId, memberNo)]);
      return { memberNo, created: true };
    });
  }

  row(tenantId: string, userId: string, memberNo: string): MemberRow {
    return { tenant_id: tenantId, user_id: userId, member_no: memberNo, joined_at: chDateTime(Date.now()) };
  }

  /** Appends a new member's row to the event log; if the log refuses, the serial is taken back (503). */
  async store(tenantId: string, epoch: string, userId: string, serial: number, rows: MemberRow[]): Promise<void> {
    try {
      await this.tables.append([{ table: 'mileage_members', rows }]);
    } catch (err) {
      await this.guards.memberUndo(tenantId, epoch, userId, serial).catch(() => {});
      throw logRefused(err);
    }
  }

  /** The resident's member number, if they have one (no number is made). */
  async of(tenantId: string, userId: string): Promise<string | undefined> {
    const serial = await this.guards.run(tenantId, (epoch) => this.guards.memberSerial(tenantId, epoch, userId));
    return serial ? memberNumber(tenantId, Number(serial)) : undefined;
  }

  /**
   * The resident a member number (as staff typed it) belongs to; 400 for a malformed number or a
   * wrong check digit, 404 for an unknown one. `known`: numbers already looked up (see lookup()).
   */
  async resolve(
    tenantId: string,
    typed: string,
    known?: Map<string, string>,
  ): Promise<{ userId: string; memberNo: string }> {
    const memberNo = this.#canonical(tenantId, typed);
    const read = async () =>
      (await query(this.ch, 'mileage.member_by_no', { tenant: tenantId, member_no: memberNo }, memberRow))[0]?.user_id;
    let userId = known ? known.get(memberNo) : await read();
    if (!userId && !known) {
      // a number given a moment ago: its row may still be in the event log
      await this.shipped().catch(() => {});
      userId = await read();
    }
    if (!userId) throw new AppError('member_not_found', `会員番号 ${memberNo} の参加者はいません`, 404);
    return { userId, memberNo };
  }

  /** Member number → user id for many typed numbers at once (malformed ones are left out). */
  async lookup(tenantId: string, typed: string[]): Promise<Map<string, string>> {
    const nos = [
      ...new Set(
        typed.flatMap((t) => {
          try {
            return [this.#canonical(tenantId, t)];
          } catch {
            return [];
          }
        }),
      ),
    ];
    if (nos.length === 0) return new Map();
    await this.shipped().catch(() => {});
    const rows = await query(
      this.ch,
      'mileage.members_by_nos',
      { tenant: tenantId, member_nos: nos },
      z.object({ member_no: z.string(), user_id: z.string() }),
    );
    return new Map(rows.map((r) => [r.member_no, r.user_id]));
  }

  /** The number as stored (hyphens, NFKC), or a Japanese 400 for a malformed or foreign one. */
  #canonical(tenantId: string, typed: string): string {
    const parsed = parseMemberNumber(typed);
    if (!parsed) {
      const digits = typed.normalize('NFKC').replace(/\D/g, '');
      throw digits.length === 12
        ? new AppError(
            'member_no_check_digit',
            `会員番号 ${typed} はチェック数字が合いません。番号を確かめてください`,
            400,
          )
        : new AppError('member_no_invalid', `会員番号 ${typed} の形式が正しくありません (例: 24201-000123-6)`, 400);
    }
    if (parsed.tenantId !== tenantId) {
      throw new AppError('member_no_foreign', `会員番号 ${typed} はこの市町の番号ではありません`, 400);
    }
    return memberNumber(parsed.tenantId, parsed.serial);
  }
}
