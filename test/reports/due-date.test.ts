import holidayJp from '@holiday-jp/holiday_jp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  closedReason,
  dueDateFor,
  formatWareki,
  formatWarekiMonth,
  isOpenDay,
  nextOpenDay,
  parseYearMonth,
} from '../../reports/due-date.ts';
import { runCli, testEnv, tmpDir } from '../helpers/index.ts';

describe('due dates: the 10th of the following month, or the next open day', () => {
  it.each([
    // [month reported on, due, why]
    ['2022-09', '2022-10-11', '10/10 スポーツの日'],
    ['2026-09', '2026-10-13', '10/10 Sat, 10/11 Sun, 10/12 スポーツの日'],
    ['2025-12', '2026-01-13', '1/10 Sat, 1/11 Sun, 1/12 成人の日'],
    ['2020-12', '2021-01-12', '1/10 Sun, 1/11 成人の日'],
    ['2027-12', '2028-01-11', '1/10 成人の日 (Mon)'],
    ['2026-04', '2026-05-11', '5/10 Sun'],
    ['2025-04', '2025-05-12', '5/10 Sat, 5/11 Sun'],
    ['2022-06', '2022-07-11', '7/10 Sun'],
    ['2022-11', '2022-12-12', '12/10 Sat, 12/11 Sun'],
    ['2024-12', '2025-01-10', 'open 10th in January (Fri)'],
    ['2022-12', '2023-01-10', 'open 10th in January (Tue)'],
    ['2025-03', '2025-04-10', 'open 10th (Thu)'],
    ['2024-09', '2024-10-10', 'open 10th (Thu)'],
    ['2023-01', '2023-02-10', 'open 10th (Fri)'],
    ['2019-04', '2019-05-10', 'after the 2019 Golden Week of ten days, the 10th is open'],
  ])('%s → %s (%s)', (month, due) => {
    const d = dueDateFor(month);
    expect(d.due).toBe(due);
    expect(isOpenDay(d.due)).toBe(true);
    // every day passed over is closed, and there are no gaps
    expect(d.skipped.map((s) => s.date)).toEqual(
      Array.from({ length: d.skipped.length }, (_, i) =>
        new Date(Date.parse(`${d.nominal}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
      ),
    );
  });

  it('names why each skipped day is closed, holidays from @holiday-jp/holiday_jp', () => {
    expect(dueDateFor('2025-12').skipped).toEqual([
      { date: '2026-01-10', reason: '土曜日' },
      { date: '2026-01-11', reason: '日曜日' },
      { date: '2026-01-12', reason: '成人の日' },
    ]);
    expect(dueDateFor('2022-09').skipped).toEqual([{ date: '2022-10-10', reason: 'スポーツの日' }]);
    expect(dueDateFor('2025-03').skipped).toEqual([]);
  });

  it('agrees with the holiday library for every month it covers: due is open, and nothing open was skipped', () => {
    const holidays = holidayJp.holidays as Record<string, unknown>;
    for (let y = 2000; y <= 2049; y++) {
      for (let m = 1; m <= 12; m++) {
        const d = dueDateFor({ year: y, month: m });
        const dow = new Date(`${d.due}T00:00:00Z`).getUTCDay();
        expect(dow, d.due).not.toBe(0);
        expect(dow, d.due).not.toBe(6);
        expect(holidays[d.due], d.due).toBeUndefined();
        expect(holidayJp.isHoliday(new Date(`${d.due}T12:00:00+09:00`)), d.due).toBe(false);
        expect(d.due >= d.nominal).toBe(true);
        expect(d.skipped.every((s) => !isOpenDay(s.date))).toBe(true);
      }
    }
  });

  it('keeps the year-end closure 12/29–1/3 closed, then weekends', () => {
    for (const d of ['2025-12-29', '2025-12-30', '2025-12-31', '2026-01-02', '2026-01-03'])
      expect(closedReason(d)).toBe('年末年始の閉庁日');
    expect(closedReason('2026-01-01')).toBe('元日');
    expect(closedReason('2025-12-26')).toBeUndefined();
    // from Sat 12/27: weekend, closure, 元日, closure, Sun 1/4 → Mon 1/5
    const r = nextOpenDay('2025-12-27');
    expect(r.date).toBe('2026-01-05');
    expect(r.skipped).toHaveLength(9);
    expect(nextOpenDay('2026-01-05')).toEqual({ date: '2026-01-05', skipped: [] });
  });

  it('passes over Golden Week', () => {
    // 2026: 4/29 昭和の日 (Wed) … 5/2 Sat, 5/3–5/5 holidays, 5/6 振替休日
    expect(nextOpenDay('2026-05-02').date).toBe('2026-05-07');
    expect(closedReason('2026-05-06')).toMatch(/振替休日/);
    expect(nextOpenDay('2025-05-03').date).toBe('2025-05-07');
  });

  it('writes 和暦 with the Japanese calendar', () => {
    expect(formatWareki('2022-10-11', { weekday: true })).toBe('令和4年10月11日(火)');
    expect(formatWareki('2025-04-10')).toBe('令和7年4月10日');
    expect(formatWareki('2019-05-01')).toBe('令和元年5月1日');
    expect(formatWareki('2019-04-30')).toBe('平成31年4月30日');
    expect(formatWarekiMonth('2022-09')).toBe('令和4年9月');
  });

  it('refuses malformed or out-of-range months with a Japanese message', () => {
    for (const bad of ['2022-13', '2022-00', '22-09', 'September', '', '2022-09-01']) {
      expect(() => parseYearMonth(bad), bad).toThrow(/YYYY-MM/);
    }
    expect(() => parseYearMonth('2050-12')).toThrow(/祝日表の範囲外/);
    expect(() => parseYearMonth('1969-05')).toThrow(/祝日表の範囲外/);
    expect(parseYearMonth('2022/9')).toEqual({ year: 2022, month: 9 });
  });
});

describe('npx tayori report due', () => {
  const tmp = tmpDir();
  const env = testEnv(tmp.dir);
  afterAll(() => tmp.remove());

  it('prints the ISO date on the first line and 和暦 on the second', async () => {
    const r = await runCli(['report', 'due', '2022-09'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('2022-10-11');
    expect(lines[1]).toContain('令和4年10月11日(火)');
    expect(lines[1]).toContain('令和4年9月分');
  });

  it('explains skipped days with --verbose, and gives JSON with --json', async () => {
    const v = await runCli(['report', 'due', '2025-12', '--verbose'], { env });
    expect(v.code).toBe(0);
    expect(v.stdout.split('\n')[0]).toBe('2026-01-13');
    expect(v.stdout).toContain('成人の日');
    expect(v.stdout).toContain('土曜日');
    const j = await runCli(['report', 'due', '2025-12', '--json'], { env });
    expect(JSON.parse(j.stdout)).toMatchObject({
      month: '2025-12',
      nominal: '2026-01-10',
      due: '2026-01-13',
      dueWareki: '令和8年1月13日(火)',
    });
  });

  it('exits 1 with a Japanese message on bad input', async () => {
    const r = await runCli(['report', 'due', '2022-13'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/エラー: 年月「2022-13」を読み取れません/);
  });
});
