/**
 * Luhn (mod 10) check digits, for numbers staff type in by hand (mileage member numbers): a single
 * wrong digit or two swapped neighbours is caught.
 */

/** The check digit for a string of decimal digits. */
export function luhnDigit(digits: string): number {
  if (!/^\d+$/.test(digits)) throw new Error('luhnDigit: digits only');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** True when the last digit of `withCheck` is the Luhn check digit of the digits before it. */
export function luhnValid(withCheck: string): boolean {
  if (!/^\d{2,}$/.test(withCheck)) return false;
  return luhnDigit(withCheck.slice(0, -1)) === Number(withCheck.at(-1));
}

/** A mileage member number: `<tenant code>-<6-digit serial>-<check digit>` (e.g. 24201-000123-6). */
export function memberNumber(tenantId: string, serial: number): string {
  const s = String(serial).padStart(6, '0');
  return `${tenantId}-${s}-${luhnDigit(tenantId + s)}`;
}

/** The tenant and serial of a well-formed member number whose check digit is right, else undefined. */
export function parseMemberNumber(text: string): { tenantId: string; serial: number } | undefined {
  const m = /^(\d{5})-?(\d{6})-?(\d)$/.exec(text.trim().normalize('NFKC'));
  if (!m || !luhnValid(m[1]! + m[2]! + m[3]!)) return undefined;
  return { tenantId: m[1]!, serial: Number(m[2]) };
}
