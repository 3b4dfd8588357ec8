/**
 * Deadlines in open days (開庁日: weekends, national holidays and 12/29–1/3 excluded). The calendar
 * is the one the minutes use (reports/due-date.ts isOpenDay); the suite hands it in.
 */
import { addDays, tokyoToday } from '../core/time.ts';

export type IsOpenDay = (day: string) => boolean;

/** The `n`th open day after `day` ('YYYY-MM-DD'). */
export function openDaysAfter(day: string, n: number, isOpen: IsOpenDay): string {
  let d = day;
  for (let left = n; left > 0; ) {
    d = addDays(d, 1);
    if (isOpen(d)) left--;
  }
  return d;
}

/** Open days from the day after `from` up to and including `to` (0 when answered the same day). */
export function openDaysBetween(from: string, to: string, isOpen: IsOpenDay): number {
  let n = 0;
  for (let d = addDays(from, 1); d <= to; d = addDays(d, 1)) if (isOpen(d)) n++;
  return n;
}

/** The Tokyo day of an ISO instant. */
export function dayOf(iso: string): string {
  return tokyoToday(Date.parse(iso));
}

/** An incident report is due five open days after recovery. */
export const INCIDENT_DUE_OPEN_DAYS = 5;
/** The Mie contract: an inquiry answered within two open days. */
export const ANSWER_OPEN_DAYS = 2;
