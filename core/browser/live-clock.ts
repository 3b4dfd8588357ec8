/**
 * A running clock for the residents' card pages: today's date (和暦, weekday) and the time with
 * seconds, Tokyo, redrawn every second, so shop staff can tell a live card from a screenshot.
 */
const dateFormat = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
  timeZone: 'Asia/Tokyo',
  era: 'long',
  year: 'numeric',
  month: 'long',
  day: 'numeric',
  weekday: 'short',
});
const timeFormat = new Intl.DateTimeFormat('ja-JP', {
  timeZone: 'Asia/Tokyo',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** Writes the date into #dateId and the time into #timeId now and every second after. */
export function startLiveClock(dateId: string, timeId: string): void {
  const tick = () => {
    const now = new Date();
    const d = document.getElementById(dateId);
    const t = document.getElementById(timeId);
    if (d) d.textContent = dateFormat.format(now);
    if (t) t.textContent = timeFormat.format(now);
  };
  tick();
  setInterval(tick, 1000);
}
