/**
 * Staff-written patterns matched against mail from outside, guarded twice: when a rule is saved
 * (length, syntax, no back-references or look-arounds, no repeated group that itself repeats or
 * alternates — the shapes that backtrack catastrophically), and when a mail is matched (the text cut
 * to MATCH_INPUT_MAX and the match run in a vm context with a time limit, so a pattern that slips
 * through still cannot hold the process). The limit is wall-clock time: on a busy machine, or during
 * a garbage collection, a harmless pattern (well under a millisecond of work) can run past a short
 * one, and a mail would be parked as if no rule matched. So a match that runs out of time gets one
 * more, longer go; only a pattern that runs out of that too is a timeout.
 */
import vm from 'node:vm';

export const PATTERN_MAX = 200;
export const MATCH_INPUT_MAX = 20_000;
const MATCH_TIMEOUT_MS = 50;
const RETRY_TIMEOUT_MS = 1000;

/** Why a pattern is refused (Japanese), or undefined when it may be saved. */
export function patternProblem(p: string): string | undefined {
  if (p.length === 0) return 'パターンを入力してください';
  if (p.length > PATTERN_MAX) return `パターンは ${PATTERN_MAX} 文字以内です`;
  try {
    new RegExp(p, 'iu');
  } catch {
    return 'パターン (正規表現) の書き方が正しくありません';
  }
  if (/\\[1-9]|\\k</.test(p)) return 'パターンに後方参照 (\\1 など) は使えません';
  if (/\(\?<?[=!]/.test(p)) return 'パターンに先読み・後読みは使えません';
  if (nestedRepetition(p)) return '繰り返しを含むグループをさらに繰り返すパターン (例: (a+)+) は使えません';
  return undefined;
}

/** True when a group that contains a quantifier or an alternation is itself quantified. */
function nestedRepetition(p: string): boolean {
  const stack: Array<{ risky: boolean }> = [];
  let inClass = false;
  /** + * or a brace that allows more than one (a '?' does not repeat). */
  const repeatAt = (i: number) => {
    const c = p[i];
    if (c === '*' || c === '+') return true;
    const m = c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i)) : null;
    return !!m && (m[2] === undefined ? Number(m[1]) > 1 : m[3] === '' || Number(m[3]) > 1);
  };
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') stack.push({ risky: false });
    else if (c === '|' && stack.length) stack[stack.length - 1]!.risky = true;
    else if (c === ')') {
      const g = stack.pop();
      if (g?.risky && repeatAt(i + 1)) return true;
      // a risky group inside makes its parent risky too
      if (g?.risky && stack.length) stack[stack.length - 1]!.risky = true;
    } else if (repeatAt(i) && stack.length) stack[stack.length - 1]!.risky = true;
  }
  return false;
}

const context = vm.createContext({ p: '', s: '' });
const matcher = new vm.Script('new RegExp(p, "iu").test(s)');

/**
 * Whether `pattern` matches `text` (case-insensitive): true / false, or 'timeout' when the match ran
 * past its limit twice (treated as no match by the caller, and recorded).
 */
export function safeTest(pattern: string, text: string): boolean | 'timeout' {
  const first = timedTest(pattern, text, MATCH_TIMEOUT_MS);
  return first === 'timeout' ? timedTest(pattern, text, RETRY_TIMEOUT_MS) : first;
}

function timedTest(pattern: string, text: string, timeout: number): boolean | 'timeout' {
  context.p = pattern;
  context.s = text.slice(0, MATCH_INPUT_MAX);
  try {
    return matcher.runInContext(context, { timeout }) === true;
  } catch {
    return 'timeout';
  } finally {
    context.s = '';
  }
}
