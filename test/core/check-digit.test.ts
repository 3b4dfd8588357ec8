import { describe, expect, it } from 'vitest';
import { luhnDigit, luhnValid, memberNumber, parseMemberNumber } from '../../core/check-digit.ts';

describe('Luhn check digits', () => {
  it('matches the textbook example', () => {
    expect(luhnDigit('7992739871')).toBe(3);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398714')).toBe(false);
  });

  it('catches any single wrong digit and swapped neighbours of a member number', () => {
    const no = memberNumber('24201', 123);
    const digits = no.replaceAll('-', '');
    expect(parseMemberNumber(no)).toEqual({ tenantId: '24201', serial: 123 });
    for (let i = 0; i < digits.length; i++) {
      for (let d = 0; d <= 9; d++) {
        const c = String(d);
        if (c === digits[i]) continue;
        expect(luhnValid(digits.slice(0, i) + c + digits.slice(i + 1))).toBe(false);
      }
    }
    for (let i = 0; i + 1 < digits.length; i++) {
      if (digits[i] === digits[i + 1]) continue;
      const swapped = digits.slice(0, i) + digits[i + 1] + digits[i] + digits.slice(i + 2);
      // Luhn misses only 09 ↔ 90
      if (`${digits[i]}${digits[i + 1]}` === '09' || `${digits[i]}${digits[i + 1]}` === '90') continue;
      expect(luhnValid(swapped)).toBe(false);
    }
  });

  it('reads full-width digits and numbers without hyphens', () => {
    const no = memberNumber('24202', 45);
    expect(parseMemberNumber(no.replaceAll('-', ''))).toEqual({ tenantId: '24202', serial: 45 });
    expect(parseMemberNumber(no.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d))))).toEqual({
      tenantId: '24202',
      serial: 45,
    });
    expect(parseMemberNumber('24202-000045')).toBeUndefined();
    expect(parseMemberNumber('abc')).toBeUndefined();
  });
});
