/**
 * Mail rules: a match on the sender, subject and body (plain text or a guarded pattern) → a message
 * template → an audience (all friends, a segment, the test devices, or the residents of the places
 * named in the mail: their registered residence or 知りたい地域, or an interest under that area).
 */
import { AppError } from '../../core/errors.ts';
import { z } from '../../core/zod.ts';
import { type Audience, audienceSchema, type Condition } from '../audience.ts';
import type { Category } from '../residents.ts';
import { patternProblem, safeTest } from './safe-pattern.ts';

const AREA_ROOT = '@area';

const matchPart = z
  .object({
    kind: z.enum(['text', 'pattern'], { message: '一致のしかたは text (文字を含む) か pattern (正規表現) です' }),
    value: z
      .string({ error: '条件の文字を入力してください' })
      .trim()
      .min(1, '条件の文字を入力してください')
      .max(200, '条件は 200 文字以内です'),
  })
  .superRefine((m, ctx) => {
    const problem = m.kind === 'pattern' ? patternProblem(m.value) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
  });

export const ruleInputSchema = z.object({
  name: z
    .string({ error: 'ルール名を入力してください' })
    .trim()
    .min(1, 'ルール名を入力してください')
    .max(50, 'ルール名は 50 文字以内です'),
  enabled: z.boolean({ error: 'enabled は true か false です' }).default(true),
  urgent: z.boolean({ error: 'urgent は true か false です' }).default(false),
  sort: z.number().int().min(0).max(10_000).default(100),
  match: z
    .object({ from: matchPart.optional(), subject: matchPart.optional(), body: matchPart.optional() })
    .strict()
    .refine((m) => m.from || m.subject || m.body, '差出人・件名・本文のどれかに条件を指定してください'),
  template: z
    .string({ error: 'メッセージのひな形を入力してください' })
    .trim()
    .min(1, 'メッセージのひな形を入力してください')
    .max(2000, 'ひな形は 2000 文字以内です'),
  audience: z.union([audienceSchema, z.object({ type: z.literal('places') })], {
    error: '配信対象は all・segment・test・places (メールに書かれた地区) のいずれかです',
  }),
});

export type MailRuleInput = z.output<typeof ruleInputSchema>;
export type MailRule = MailRuleInput & { ruleId: string };
export type RuleAudience = Audience | { type: 'places' };

export interface MailParts {
  from: string;
  subject: string;
  body: string;
}

const norm = (s: string) => s.normalize('NFKC').toLowerCase();

/** Whether every condition of the rule holds; 'timeout' when a pattern ran out of time. */
export function ruleMatches(rule: Pick<MailRule, 'match'>, mail: MailParts): boolean | 'timeout' {
  for (const field of ['from', 'subject', 'body'] as const) {
    const m = rule.match[field];
    if (!m) continue;
    if (m.kind === 'text') {
      if (!norm(mail[field]).includes(norm(m.value))) return false;
      continue;
    }
    const r = safeTest(m.value, mail[field].normalize('NFKC'));
    if (r !== true) return r;
  }
  return true;
}

/** Values per segment leaf (audience.ts allows 500). */
const MAX_VALUES = 500;

/**
 * The areas named in the mail ("久居地区に避難指示" names 久居地区, and 久居 when the area is called
 * so; a one-character area only with 地区 or 地域 after it) and the segment of residents who live
 * there, asked for news of it, or chose it under an interest.
 */
export function placesAudience(
  categories: Category[],
  text: string,
): { places: string[]; audience?: Extract<Audience, { type: 'segment' }> } {
  const hay = norm(text);
  const areas = categories.filter((c) => c.parentId === AREA_ROOT && !c.retired);
  const found = areas.filter((a) => {
    const n = norm(a.name);
    const short = n.replace(/(地区|地域)$/u, '');
    // a one-character name (津) is found only as 津地区 / 津地域: alone it is in too many words (津市)
    if ([...short].length < 2) return hay.includes(`${short}地区`) || hay.includes(`${short}地域`);
    return hay.includes(n) || hay.includes(short);
  });
  if (!found.length) return { places: [] };
  const ids = found.map((a) => a.id);
  const larges = new Set(categories.filter((c) => c.parentId === '').map((c) => c.id));
  const middles = categories.filter((c) => larges.has(c.parentId));
  const paths = middles.flatMap((m) => ids.map((id) => `${m.parentId}/${m.id}/${id}`)).slice(0, MAX_VALUES);
  const or: Condition[] = [
    { attr: 'residence', op: 'in', values: ids },
    { attr: 'news_areas', op: 'in', values: ids },
  ];
  if (paths.length) or.push({ attr: 'interests', op: 'in', values: paths });
  const places = found.map((a) => a.name);
  return {
    places,
    audience: { type: 'segment', condition: { or }, label: `メールの地区: ${places.join('・')}`.slice(0, 100) },
  };
}

/** A rule id from the path, well-formed or a 404. */
export function ruleIdOf(raw: string): string {
  if (!/^[A-Za-z0-9_-]{8,40}$/.test(raw)) throw new AppError('mail_rule_not_found', 'ルールが見つかりません', 404);
  return raw;
}
