/** Small helpers of the card pages' scripts. */
export const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T | null;

export function setText(id: string, text: string): void {
  const n = byId(id);
  if (n) n.textContent = text;
}

const warekiFormat = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
  timeZone: 'UTC',
  era: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
});

/** 'YYYY-MM-DD' → 令和2年4月1日 */
export const warekiDay = (day: string) => warekiFormat.format(new Date(`${day}T00:00:00Z`));
