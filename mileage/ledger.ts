/**
 * Reading the ledger: balances from the mileage_balances rollup (never a scan of the ledger), a
 * participant's entries page by page, a programme's participants, one entry. An award reaches
 * ClickHouse with the event log's shipping (about a second after it is acknowledged): staff reads
 * that must see it (participants, a member's ledger, an entry to correct) settle() first — the log
 * is shipped at once — while the residents' pages take the guards' balance and the ledger as it is.
 */
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { tokyoToday } from '../core/time.ts';
import { z } from '../core/zod.ts';
import { keysetBatches } from './keyset-rows.ts';
import {
  ENTRY_KIND_LABELS,
  type LedgerEntry,
  type Participant,
  type ParticipantsPage,
  type ParticipantsQuery,
  type Programme,
  searchDigits,
} from './schemas.ts';

const balanceRow = z.object({ points: z.coerce.number(), entries: z.coerce.number(), last_ms: z.coerce.number() });
const historyRow = z.object({
  entry_id: z.string(),
  activity_id: z.string(),
  kind: z.string(),
  points: z.coerce.number(),
  activity_on: z.string(),
  source_id: z.string(),
  corrects: z.string(),
  reason: z.string(),
  actor: z.string(),
  recorded_ms: z.coerce.number(),
});
const countRow = z.object({ n: z.coerce.number() });
const participantCountRow = z.object({
  participants: z.coerce.number(),
  reached: z.coerce.number(),
  matching: z.coerce.number(),
});
/** Participants per page of the CSV's read (each page one query). */
const CSV_PAGE_ROWS = 20_000;
const entryRow = z.object({
  user_id: z.string(),
  entry_id: z.string(),
  activity_id: z.string(),
  kind: z.string(),
  points: z.coerce.number(),
  activity_on: z.string(),
  corrects: z.string(),
});
export type StoredEntry = z.infer<typeof entryRow>;
const participantRow = z.object({
  user_id: z.string(),
  member_no: z.string(),
  points: z.coerce.number(),
  entries: z.coerce.number(),
  first_ms: z.coerce.number(),
  last_ms: z.coerce.number(),
  card_no: z.string(),
  card_issued_ms: z.coerce.number(),
  card_valid_until: z.string(),
});

export class LedgerReads {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly now: () => number = Date.now,
    /** Resolves once the rows acknowledged so far are in ClickHouse (the event log shipped). */
    private readonly shipped: () => Promise<void> = async () => {},
  ) {}

  /** Waits (bounded) until every acknowledged row is in ClickHouse; reads go on if it is away. */
  async settle(): Promise<void> {
    await this.shipped().catch(() => {});
  }

  async balance(tenantId: string, programmeId: string, userId: string): Promise<number> {
    const [row] = await query(
      this.ch,
      'mileage.balance',
      { tenant: tenantId, programme: programmeId, user: userId },
      balanceRow,
    );
    return row?.points ?? 0;
  }

  async history(
    tenantId: string,
    programme: Programme,
    userId: string,
    page: { limit: number; offset: number },
  ): Promise<{ entries: LedgerEntry[]; total: number }> {
    const params = { tenant: tenantId, programme: programme.programmeId, user: userId };
    const [rows, [count]] = await Promise.all([
      query(this.ch, 'mileage.history', { ...params, limit: page.limit, offset: page.offset }, historyRow),
      query(this.ch, 'mileage.history_count', params, countRow),
    ]);
    const names = new Map(programme.activities.map((a) => [a.activityId, a.name]));
    return {
      total: count?.n ?? 0,
      entries: rows.map((r) => ({
        entryId: r.entry_id,
        activityId: r.activity_id,
        activityName: names.get(r.activity_id) ?? '',
        kind: r.kind,
        kindLabel: ENTRY_KIND_LABELS[r.kind] ?? r.kind,
        points: r.points,
        activityOn: r.activity_on,
        corrects: r.corrects,
        reason: r.reason,
        actor: r.actor,
        recordedAt: new Date(r.recorded_ms).toISOString(),
      })),
    };
  }

  /** One entry (an entry acknowledged a moment ago is waited for). */
  async entry(tenantId: string, programmeId: string, entryId: string): Promise<StoredEntry | undefined> {
    const read = async () =>
      (
        await query(this.ch, 'mileage.entry', { tenant: tenantId, programme: programmeId, entry: entryId }, entryRow)
      )[0];
    const row = await read();
    if (row) return row;
    await this.settle();
    return read();
  }

  async corrections(tenantId: string, programmeId: string, entryId: string): Promise<number> {
    await this.settle();
    const [row] = await query(
      this.ch,
      'mileage.corrections_of',
      { tenant: tenantId, programme: programmeId, entry: entryId },
      countRow,
    );
    return row?.n ?? 0;
  }

  /** A page of a programme's participants (search by member number, order), with the counts. */
  async participants(
    tenantId: string,
    programme: Pick<Programme, 'programmeId' | 'goalPoints'>,
    page: ParticipantsQuery,
  ): Promise<ParticipantsPage> {
    await this.settle();
    const digits = searchDigits(page.q);
    const [rows, counts] = await Promise.all([
      query(
        this.ch,
        'mileage.participants',
        {
          tenant: tenantId,
          programme: programme.programmeId,
          digits,
          order: page.order,
          after_member: '',
          after_user: '',
          limit: page.limit,
          offset: page.offset,
        },
        participantRow,
      ),
      this.#counts(tenantId, programme, digits),
    ]);
    const today = tokyoToday(this.now());
    return { ...page, participants: rows.map((r) => toParticipant(r, today)), ...counts };
  }

  /** How many participants a programme has (and at or over its goal). */
  async participantCounts(
    tenantId: string,
    programme: Pick<Programme, 'programmeId' | 'goalPoints'>,
  ): Promise<ParticipantsPage['summary']> {
    await this.settle();
    return (await this.#counts(tenantId, programme, '')).summary;
  }

  async #counts(
    tenantId: string,
    programme: Pick<Programme, 'programmeId' | 'goalPoints'>,
    digits: string,
  ): Promise<Pick<ParticipantsPage, 'total' | 'summary'>> {
    const [count] = await query(
      this.ch,
      'mileage.participants_count',
      { tenant: tenantId, programme: programme.programmeId, digits, goal: programme.goalPoints },
      participantCountRow,
    );
    return {
      total: count?.matching ?? 0,
      summary: { participants: count?.participants ?? 0, reachedGoal: count?.reached ?? 0 },
    };
  }

  /** Every participant of a programme in member-number order, a batch at a time (bounded memory). */
  async *allParticipants(tenantId: string, programmeId: string): AsyncGenerator<Participant[]> {
    await this.settle();
    const today = tokyoToday(this.now());
    for await (const batch of keysetBatches(this.ch, {
      name: 'mileage.participants',
      params: { tenant: tenantId, programme: programmeId, digits: '', order: 'member', offset: 0 },
      row: participantRow,
      first: { after_member: '', after_user: '' },
      after: (r) => ({ after_member: r.member_no, after_user: r.user_id }),
      pageRows: CSV_PAGE_ROWS,
    })) {
      yield batch.map((r) => toParticipant(r, today));
    }
  }
}

function toParticipant(r: z.output<typeof participantRow>, today: string): Participant {
  return {
    memberNo: r.member_no,
    balance: r.points,
    entries: r.entries,
    firstAt: new Date(r.first_ms).toISOString(),
    lastAt: new Date(r.last_ms).toISOString(),
    card: r.card_no
      ? {
          cardNo: r.card_no,
          designId: '',
          issuedAt: new Date(r.card_issued_ms).toISOString(),
          validUntil: r.card_valid_until,
          expired: today > r.card_valid_until,
        }
      : null,
  };
}
