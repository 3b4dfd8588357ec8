import { describe, expect, it } from 'vitest';
import { tokyoMonth, tokyoToday } from '../../core/time.ts';

describe('Tokyo dates', () => {
  it('today turns at midnight in Tokyo (15:00 UTC), whichever day was asked last', () => {
    const before = Date.UTC(2026, 2, 30, 14, 59, 59, 999); // 23:59:59.999 on 30 March in Tokyo
    const after = before + 1;
    // alternating days: the remembered day never answers for another one
    expect(tokyoToday(before)).toBe('2026-03-30');
    expect(tokyoToday(after)).toBe('2026-03-31');
    expect(tokyoToday(before)).toBe('2026-03-30');
    expect(tokyoToday(after + 86_400_000)).toBe('2026-04-01');
    expect(tokyoToday(Date.UTC(2028, 1, 28, 15))).toBe('2028-02-29');
    expect(tokyoToday(Date.UTC(1969, 11, 31, 15))).toBe('1970-01-01');
    expect(tokyoToday(Date.UTC(1969, 11, 31, 14, 59))).toBe('1969-12-31');
    expect(tokyoMonth(after)).toBe('2026-03');
  });

  it('an invalid instant still throws rather than answering the last day', () => {
    tokyoToday(Date.UTC(2026, 0, 1));
    expect(() => tokyoToday(Number.NaN)).toThrow(RangeError);
  });
});
