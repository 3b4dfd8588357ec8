/**
 * Who may use the パパ・ママ応援ショップ優待カード (Saitama's specification 2.6 エ):
 *  ① households with a child until the 31 March after the child reaches 18,
 *  ② households with someone pregnant, ③ grandparents who support child-rearing.
 *
 * Only ① has an end the card can tell: a household whose youngest registered child reached 18 and
 * whose following 31 March has passed is no longer eligible. Pregnant households and supporting
 * grandparents register no children and stay eligible while registered (their status is the
 * resident's own declaration, as on the paper card).
 *
 * Age is counted as Japanese law does (年齢計算ニ関スル法律, 民法 143条): one reaches an age at the end of
 * the day before the birthday, so a child born on 1 April reaches 18 on 31 March — that very 31 March
 * is "the following 31 March" — while a child born on 2 April reaches 18 on 1 April and stays eligible
 * until the next year's 31 March (the same cohort as school years). A child born on 29 February
 * reaches an age on 28 February in a common year. Dates are Tokyo calendar days (YYYY-MM-DD).
 */
export type HouseholdKind = 'children' | 'pregnant' | 'grandparent';

export type Eligibility = { eligible: true; until: string | null } | { eligible: false; until: string; reason: string };

/** The day a person born on `birth` reaches `age` (the day before the birthday), YYYY-MM-DD. */
export function reachesAge(birth: string, age: number): string {
  const [y, m, d] = birth.split('-').map(Number) as [number, number, number];
  // the birthday in year y+age (29 Feb in a common year rolls to 1 March), minus one day
  const t = Date.UTC(y + age, m - 1, d) - 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** The last day a child born on `birth` keeps the household eligible: the first 31 March on or after reaching 18. */
export function eligibleUntil(birth: string): string {
  let until = untilByBirth.get(birth);
  if (until === undefined) {
    const reached = reachesAge(birth, 18);
    const year = Number(reached.slice(0, 4));
    until = reached.slice(5) <= '03-31' ? `${year}-03-31` : `${year + 1}-03-31`;
    // a card opening at a till asks for the same few thousand birth dates again and again
    if (untilByBirth.size >= 50_000) untilByBirth.clear();
    untilByBirth.set(birth, until);
  }
  return until;
}
const untilByBirth = new Map<string, string>();

export function eligibility(
  household: { kind: HouseholdKind; birthDates: readonly string[] },
  today: string,
): Eligibility {
  if (household.kind !== 'children') return { eligible: true, until: null };
  if (!household.birthDates.length) return { eligible: true, until: null };
  // the youngest child: the latest birth date (YYYY-MM-DD compares as text)
  let youngest = household.birthDates[0]!;
  for (const b of household.birthDates) if (b > youngest) youngest = b;
  const until = eligibleUntil(youngest);
  if (today <= until) return { eligible: true, until };
  return {
    eligible: false,
    until,
    reason: `登録されているお子さまのうち最も年少のお子さまが 18 歳に達した後の 3 月 31 日 (${until.slice(0, 4)}年3月31日) を過ぎたため、カードはご利用いただけません。お子さまの情報に誤りがある場合は、登録内容を変更してください。`,
  };
}
