/**
 * Audiences: all friends, a segment (nested AND / OR / NOT over residents' attributes), the tenant's
 * test devices, or a list of residents named by LINE user id (at most MAX_LISTED_USERS, deduplicated;
 * those who blocked the account or are not friends are skipped at send time and counted). A segment
 * compiles to one SQL condition over `user_id` (compileCondition).
 */
import { z } from '../core/zod.ts';
import { AppError } from '../core/errors.ts';
import { sql } from '../core/sql.ts';

export const BUILTIN_ITEMS = ['lifestyle', 'birth_year', 'gender', 'residence', 'news_areas', 'interests'] as const;
const itemKey = z
  .string({ error: '属性を指定してください' })
  .refine(
    (s) => (BUILTIN_ITEMS as readonly string[]).includes(s) || /^x:[a-z0-9_]{1,40}$/.test(s),
    '属性は lifestyle・birth_year・gender・residence・news_areas・interests か x:<項目 ID> です',
  );

export interface Leaf {
  attr: string;
  op: 'in' | 'all' | 'between' | 'exists';
  values?: string[];
  min?: number;
  max?: number;
}
export type Condition = Leaf | { and: Condition[] } | { or: Condition[] } | { not: Condition };

const leafSchema = z
  .object({
    attr: itemKey,
    op: z.enum(['in', 'all', 'between', 'exists'], { message: '条件は in・all・between・exists のいずれかです' }),
    values: z
      .array(z.string().min(1).max(200), { error: '値は文字列の配列です' })
      .max(500, '値は 500 個までです')
      .optional(),
    min: z.number().int('整数で指定してください').optional(),
    max: z.number().int('整数で指定してください').optional(),
  })
  .strict()
  .superRefine((l, ctx) => {
    if ((l.op === 'in' || l.op === 'all') && !l.values?.length)
      ctx.addIssue({ code: 'custom', path: ['values'], message: '値を 1 つ以上指定してください' });
    if (l.op === 'between' && l.min === undefined && l.max === undefined)
      ctx.addIssue({ code: 'custom', path: ['min'], message: '下限か上限を指定してください' });
    if (l.op === 'between' && l.min !== undefined && l.max !== undefined && l.min > l.max)
      ctx.addIssue({ code: 'custom', path: ['max'], message: '上限は下限以上にしてください' });
  });

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union(
    [
      z
        .object({
          and: z.array(conditionSchema).min(1, '条件を 1 つ以上指定してください').max(20, '条件は 20 個までです'),
        })
        .strict(),
      z
        .object({
          or: z.array(conditionSchema).min(1, '条件を 1 つ以上指定してください').max(20, '条件は 20 個までです'),
        })
        .strict(),
      z.object({ not: conditionSchema }).strict(),
      leafSchema,
    ],
    { error: '条件は {and: […]}・{or: […]}・{not: …}・{attr, op, values} のいずれかです' },
  ),
) as z.ZodType<Condition>;

/** Residents one delivery may name (one multicast request's worth). */
export const MAX_LISTED_USERS = 500;
const LINE_USER_ID = /^U[0-9a-f]{32}$/;

/** A list of LINE user ids: each checked, duplicates dropped (first occurrence kept), at most MAX_LISTED_USERS. */
const userIdsSchema = z
  .array(z.string({ error: '送信先は LINE ユーザー ID (U + 32 桁の英数字) です' }), {
    error: '送信先 (userIds) は LINE ユーザー ID の配列です',
  })
  .min(1, '送信先を 1 人以上指定してください')
  .max(MAX_LISTED_USERS * 10, `送信先は ${MAX_LISTED_USERS} 人までです`)
  .superRefine((ids, ctx) => {
    const bad = ids.findIndex((u) => !LINE_USER_ID.test(u));
    if (bad >= 0)
      ctx.addIssue({
        code: 'custom',
        path: [bad],
        message: `送信先の LINE ユーザー ID が正しくありません (${bad + 1} 番目: U + 32 桁の英数字)`,
      });
  })
  .transform((ids) => [...new Set(ids)])
  .refine((ids) => ids.length <= MAX_LISTED_USERS, `送信先は重複を除いて ${MAX_LISTED_USERS} 人までです`);

export const audienceSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('all') }),
    z.object({
      type: z.literal('segment'),
      condition: conditionSchema,
      label: z.string().trim().max(100, 'セグメント名は 100 文字以内です').optional(),
    }),
    z.object({ type: z.literal('test') }),
    z.object({
      type: z.literal('users'),
      userIds: userIdsSchema,
      label: z.string().trim().max(100, '送信先の名前は 100 文字以内です').optional(),
    }),
  ],
  {
    error:
      '配信対象は all (すべての友だち)・segment (セグメント)・test (テスト端末)・users (指定した住民) のいずれかです',
  },
);
export type Audience = z.infer<typeof audienceSchema>;

export function audienceLabel(a: Audience): string {
  if (a.type === 'all') return 'すべての友だち';
  if (a.type === 'test') return 'テスト端末';
  if (a.type === 'users') return `指定した住民${a.label ? `: ${a.label}` : ''} (${a.userIds.length}人)`;
  return a.label ? `セグメント: ${a.label}` : 'セグメント';
}

/** Named residents left out at send time (blocked, or not friends): only a list of users skips anyone by name. */
export function skippedOf(a: Audience, targets: number): number {
  return a.type === 'users' ? Math.max(0, a.userIds.length - targets) : 0;
}

export interface CompiledCondition {
  sql: string;
  params: Record<string, unknown>;
}

/**
 * Compiles a segment to a condition over `user_id` for a query over a tenant's friends: each leaf is
 * the set of residents whose latest answer passes it (delivery.segment_leaf), AND / OR / NOT combine
 * them. With `range`, each set is narrowed to the query's (after, upto]. The query supplies
 * {tenant:String} (and {after}, {upto}); every value travels as a parameter. Depth and size are bounded.
 */
export function compileCondition(c: Condition, opts: { range?: boolean } = {}): CompiledCondition {
  const params: Record<string, unknown> = {};
  let n = 0;
  let leaves = 0;
  const p = (type: string, v: unknown) => {
    const name = `s${n++}`;
    params[name] = v;
    return `{${name}:${type}}`;
  };
  const leafSql = segmentLeaf();
  const range = opts.range ? ' AND user_id > {after:String} AND user_id <= {upto:String}' : '';
  const walk = (c: Condition, depth: number): string => {
    if (depth > 6) throw new AppError('segment_too_deep', 'セグメントの入れ子は 6 段までです', 400);
    if ('and' in c) return `(${c.and.map((x) => walk(x, depth + 1)).join(' AND ')})`;
    if ('or' in c) return `(${c.or.map((x) => walk(x, depth + 1)).join(' OR ')})`;
    if ('not' in c) return `(NOT ${walk(c.not, depth + 1)})`;
    if (++leaves > 100) throw new AppError('segment_too_large', 'セグメントの条件は 100 個までです', 400);
    const item = p('String', c.attr);
    const match = matchOf(c, p);
    return `(${leafSql.replace('{{item}}', item).replace('{{range}}', range).replace('{{match}}', match)})`;
  };
  return { sql: walk(c, 0), params };
}

let leafTemplate: string | undefined;
/** delivery.segment_leaf without its comment lines: it is written into the middle of a query, once per condition. */
function segmentLeaf(): string {
  return (leafTemplate ??= sql('delivery.segment_leaf')
    .split('\n')
    .filter((l) => !/^\s*--/.test(l))
    .join(' ')
    .replace(/\s+/g, ' '));
}

/** A leaf's test over `values`, a resident's latest answer to its item. */
function matchOf(c: Leaf, p: (type: string, v: unknown) => string): string {
  switch (c.op) {
    case 'exists':
      return 'notEmpty(values)';
    case 'between': {
      const lo = c.min ?? -2147483648;
      const hi = c.max ?? 2147483647;
      return `arrayExists(x -> toInt64OrZero(x) BETWEEN ${p('Int64', lo)} AND ${p('Int64', hi)}, values)`;
    }
    case 'all':
      if (c.attr === 'interests')
        return `arrayAll(q -> arrayExists(x -> x = q OR startsWith(x, concat(q, '/')), values), ${p('Array(String)', c.values ?? [])})`;
      return `hasAll(values, ${p('Array(String)', c.values ?? [])})`;
    case 'in':
      // interests are paths (large/middle/area): a value matches itself and everything below it
      if (c.attr === 'interests')
        return `arrayExists(x -> arrayExists(q -> x = q OR startsWith(x, concat(q, '/')), ${p('Array(String)', c.values ?? [])}), values)`;
      return `hasAny(values, ${p('Array(String)', c.values ?? [])})`;
  }
}
