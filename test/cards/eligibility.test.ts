import { describe, expect, it } from 'vitest';
import { eligibility, eligibleUntil, reachesAge } from '../../cards/eligibility.ts';

const kids = (...birthDates: string[]) => ({ kind: 'children' as const, birthDates });

describe('age as Japanese law counts it', () => {
  it('one reaches an age on the day before the birthday', () => {
    expect(reachesAge('2008-04-01', 18)).toBe('2026-03-31');
    expect(reachesAge('2008-04-02', 18)).toBe('2026-04-01');
    expect(reachesAge('2008-01-01', 18)).toBe('2025-12-31');
    // 29 February: the 28th in a common year, the 28th also when the 18th year is a leap year
    expect(reachesAge('2008-02-29', 18)).toBe('2026-02-28');
    expect(reachesAge('2008-02-29', 16)).toBe('2024-02-28');
  });
});

describe('eligibility ends on the 31 March after the youngest child reaches 18', () => {
  it('born 1 April: reaches 18 on 31 March, so that 31 March is the last day', () => {
    expect(eligibleUntil('2008-04-01')).toBe('2026-03-31');
    expect(eligibility(kids('2008-04-01'), '2026-03-31')).toEqual({ eligible: true, until: '2026-03-31' });
    expect(eligibility(kids('2008-04-01'), '2026-04-01')).toMatchObject({ eligible: false, until: '2026-03-31' });
  });
  it('born 2 April: reaches 18 on 1 April, eligible until the next 31 March', () => {
    expect(eligibleUntil('2008-04-02')).toBe('2027-03-31');
    expect(eligibility(kids('2008-04-02'), '2027-03-31').eligible).toBe(true);
    expect(eligibility(kids('2008-04-02'), '2027-04-01').eligible).toBe(false);
  });
  it('born 29 February', () => {
    expect(eligibleUntil('2008-02-29')).toBe('2026-03-31');
    expect(eligibility(kids('2008-02-29'), '2026-03-31').eligible).toBe(true);
    expect(eligibility(kids('2008-02-29'), '2026-04-01').eligible).toBe(false);
  });
  it('born 31 March and 1 January', () => {
    expect(eligibleUntil('2008-03-31')).toBe('2026-03-31');
    expect(eligibleUntil('2008-01-01')).toBe('2026-03-31');
    expect(eligibleUntil('2007-12-31')).toBe('2026-03-31');
    expect(eligibleUntil('2007-04-01')).toBe('2025-03-31');
  });
  it('the youngest child decides, in any order', () => {
    expect(eligibility(kids('2010-05-05', '2005-01-01'), '2027-04-01')).toEqual({
      eligible: true,
      until: '2029-03-31',
    });
    expect(eligibility(kids('2005-01-01', '2007-06-01'), '2026-04-01')).toMatchObject({ eligible: false });
  });
  it('says why in Japanese', () => {
    const e = eligibility(kids('2000-06-01'), '2026-04-01');
    expect(e.eligible).toBe(false);
    if (!e.eligible) expect(e.reason).toContain('18 歳');
  });
  it('pregnant households and supporting grandparents stay eligible while registered', () => {
    expect(eligibility({ kind: 'pregnant', birthDates: [] }, '2099-01-01')).toEqual({ eligible: true, until: null });
    expect(eligibility({ kind: 'grandparent', birthDates: [] }, '2099-01-01')).toEqual({ eligible: true, until: null });
  });
});
