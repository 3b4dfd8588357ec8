/**
 * A mail's body made fit for a LINE message: quoted text (lines starting with '>' and the
 * 「…wrote:」 / 「…書きました:」 line before them, a forwarded or original message below its
 * separator) and the signature (after '-- ' or a ruled line near the end) removed, surplus blank
 * lines folded, and the message trimmed to LINE's text limit with a link to the full text.
 */

/** LINE's limit for a text message (characters). */
export const LINE_TEXT_MAX = 5000;

const RULE = /^\s*([-=_*~─━＝＿＊〜・.])\1{4,}\s*$/u;
const SIGNATURE_WINDOW = 12;

export function cleanBody(raw: string): string {
  let lines = raw.replace(/\r\n?/g, '\n').split('\n');
  // everything from an original / forwarded message's separator on
  const cut = lines.findIndex((l) =>
    /^\s*(-{2,}\s*(Original Message|Forwarded message|元のメッセージ|転送されたメッセージ)\s*-{2,})\s*$/i.test(l),
  );
  if (cut >= 0) lines = lines.slice(0, cut);
  // quoted lines and the line that introduces them
  lines = lines.filter((l, i) => {
    if (/^\s*>/.test(l)) return false;
    const next = lines.slice(i + 1).find((x) => x.trim() !== '');
    if (next !== undefined && /^\s*>/.test(next) && /(wrote|書きました|より)\s*[:：]\s*$/.test(l)) return false;
    return true;
  });
  // the signature: from a '-- ' line, or a ruled line among the last lines
  const sig = lines.findIndex((l) => l === '-- ' || l === '--');
  if (sig >= 0) lines = lines.slice(0, sig);
  else {
    const content = lines.map((l, i) => (l.trim() ? i : -1)).filter((i) => i >= 0);
    const last = content.at(-1) ?? -1;
    for (let i = last; i >= 0 && i >= last - SIGNATURE_WINDOW; i--) {
      if (RULE.test(lines[i]!) && content.some((c) => c < i)) {
        lines = lines.slice(0, i);
        break;
      }
    }
  }
  return lines
    .map((l) => l.replace(/[ \t\u3000]+$/u, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Length in UTF-16 units, as delivery's schema counts it (never less than LINE's count). */
const length = (s: string) => s.length;
/** The longest start of `s` within `n` UTF-16 units, never splitting a character. */
const cutTo = (s: string, n: number) => {
  let out = '';
  for (const ch of s) {
    if (out.length + ch.length > n) break;
    out += ch;
  }
  return out;
};

/**
 * The rule's template filled with the mail's parts. When the message would pass LINE's limit, the
 * body is cut and `fullTextUrl()` (called only then) is linked after it.
 */
export function renderTemplate(
  template: string,
  parts: { subject: string; body: string; from: string; date: string },
  fullTextUrl: () => string,
): { text: string; trimmed: boolean } {
  const fill = (body: string) =>
    template.replace(/\{\{\s*(subject|body|from|date)\s*\}\}/g, (_m, k: keyof typeof parts) =>
      k === 'body' ? body : parts[k],
    );
  const whole = fill(parts.body);
  if (length(whole) <= LINE_TEXT_MAX) return { text: whole, trimmed: false };
  const link = `\n…\n全文はこちら: ${fullTextUrl()}`;
  const room = LINE_TEXT_MAX - length(fill('')) - length(link);
  const text =
    template.includes('{{body}}') || /\{\{\s*body\s*\}\}/.test(template)
      ? fill(`${cutTo(parts.body, room)}${link}`)
      : `${cutTo(whole, LINE_TEXT_MAX - length(link))}${link}`;
  return { text: cutTo(text, LINE_TEXT_MAX), trimmed: true };
}
