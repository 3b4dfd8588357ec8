/**
 * Residents as delivery sees them: friend or blocked (from follow / unfollow webhook events), and
 * their self-registered attributes (append-only, latest wins), plus each tenant's interest tree and
 * extra attribute items.
 */
import { randomBytes } from 'node:crypto';
import { type ClickHouseClient, query } from '../core/clickhouse.ts';
import { AppError } from '../core/errors.ts';
import { GroupCommitWriter } from '../core/group-commit.ts';
import { chDateTime, nextVersion } from '../core/time.ts';
import { BUILTIN_ITEM_LABELS, GENDERS, LIFESTYLES } from '../core/vocabulary.ts';
import { z } from '../core/zod.ts';

export interface ResidentStateRow extends Record<string, unknown> {
  tenant_id: string;
  user_id: string;
  is_friend: number;
  changed_at: string;
  version: number;
}

export interface AttributeRow extends Record<string, unknown> {
  tenant_id: string;
  user_id: string;
  item: string;
  values: string[];
  answered_at: string;
  version: number;
  is_deleted: number;
}

export interface Category {
  id: string;
  parentId: string;
  name: string;
  sort: number;
  retired: boolean;
}

export interface ItemOption {
  id: string;
  label: string;
  retired?: boolean;
}

export interface AttributeItem {
  id: string;
  label: string;
  multiple: boolean;
  options: ItemOption[];
  sort: number;
  retired: boolean;
}

/** Parent id of the tenant's areas (the small level of the interest tree, and where residents live). */
export const AREA_ROOT = '@area';

/** The built-in items and options (core/vocabulary.ts, the one definition). */
export const BUILTIN_LABELS = BUILTIN_ITEM_LABELS;
export { GENDERS, LIFESTYLES };

const DEFAULT_TREE: Array<[string, string[]]> = [
  ['防災', ['気象・警報', '避難情報', '防災訓練']],
  ['子育て', ['健診・予防接種', '保育・教育', '子育てイベント']],
  ['健康', ['健康マイレージ', '健康教室', '検診']],
  ['イベント', ['文化・スポーツ', 'まつり', '講座']],
  ['お知らせ', ['行政', 'ごみ・環境', '募集']],
];

export const categoryInputSchema = z.object({
  parentId: z.string().max(40).default(''),
  name: z
    .string({ error: '名称を入力してください' })
    .trim()
    .min(1, '名称を入力してください')
    .max(20, '名称は 20 文字以内です (クイックリプライに収まる長さ)'),
  sort: z.number().int().optional(),
});
export const categoryPatchSchema = z.object({
  name: z.string().trim().min(1, '名称を入力してください').max(20, '名称は 20 文字以内です').optional(),
  sort: z.number().int().optional(),
  retired: z.boolean({ error: 'retired は true か false です' }).optional(),
});
export const itemInputSchema = z.object({
  label: z
    .string({ error: '項目名を入力してください' })
    .trim()
    .min(1, '項目名を入力してください')
    .max(20, '項目名は 20 文字以内です'),
  multiple: z.boolean().default(false),
  options: z
    .array(
      z.object({ label: z.string().trim().min(1, '選択肢を入力してください').max(20, '選択肢は 20 文字以内です') }),
    )
    .min(1, '選択肢を 1 つ以上指定してください')
    .max(12, '選択肢は 12 個までです'),
  sort: z.number().int().optional(),
});
export const itemPatchSchema = z.object({
  label: z.string().trim().min(1, '項目名を入力してください').max(20, '項目名は 20 文字以内です').optional(),
  retired: z.boolean().optional(),
  sort: z.number().int().optional(),
  /** Options by id: rename or retire; options without id are added. */
  options: z
    .array(
      z.object({
        id: z.string().optional(),
        label: z.string().trim().min(1, '選択肢を入力してください').max(20, '選択肢は 20 文字以内です'),
        retired: z.boolean().optional(),
      }),
    )
    .max(24, '選択肢は 24 個までです')
    .optional(),
});

const shortId = (p: string) => `${p}${randomBytes(4).toString('hex')}`;

// Rows of delivery.categories and delivery.attribute_items (sql/queries/delivery.sql).
const categoryRow = z.object({
  category_id: z.string(),
  parent_id: z.string(),
  name: z.string(),
  sort: z.number(),
  retired: z.number(),
});
const itemRow = z.object({
  item_id: z.string(),
  label: z.string(),
  multiple: z.number(),
  options: z.string(),
  sort: z.number(),
  retired: z.number(),
});

export class ResidentStore {
  readonly stateWriter: GroupCommitWriter<ResidentStateRow>;
  readonly attributeWriter: GroupCommitWriter<AttributeRow>;
  /** Bumped whenever this process changes a tenant's tree or items (caches compare it). */
  changes = 0;
  readonly #listeners: Array<(tenantId: string, userId: string) => void> = [];

  /** Called after a resident's attribute or follow state is written (rich menus keep audience links current). */
  onChange(listener: (tenantId: string, userId: string) => void): void {
    this.#listeners.push(listener);
  }

  #changed(tenantId: string, userId: string): void {
    for (const l of this.#listeners) l(tenantId, userId);
  }

  constructor(private readonly ch: ClickHouseClient) {
    this.stateWriter = new GroupCommitWriter<ResidentStateRow>(ch, 'resident_states', { maxRows: 50_000 });
    this.attributeWriter = new GroupCommitWriter<AttributeRow>(ch, 'resident_attributes', { maxRows: 50_000 });
  }

  async close(): Promise<void> {
    await this.stateWriter.close();
    await this.attributeWriter.close();
  }

  /** A follow (or unblock) or an unfollow; the event time decides which is latest. */
  async recordFollow(tenantId: string, userId: string, isFriend: boolean, at: number): Promise<void> {
    await this.stateWriter.write([
      {
        tenant_id: tenantId,
        user_id: userId,
        is_friend: isFriend ? 1 : 0,
        changed_at: chDateTime(at),
        version: at * 10 + (isFriend ? 1 : 0),
      },
    ]);
    this.#changed(tenantId, userId);
  }

  async isFriend(tenantId: string, userId: string): Promise<boolean> {
    const row = z.object({ is_friend: z.number() });
    const rows = await query(this.ch, 'delivery.resident_state', { tenant: tenantId, user: userId }, row);
    return (rows[0]?.is_friend ?? 0) === 1;
  }

  async setAttribute(tenantId: string, userId: string, item: string, values: string[], at = Date.now()): Promise<void> {
    await this.attributeWriter.write([
      {
        tenant_id: tenantId,
        user_id: userId,
        item,
        values,
        answered_at: chDateTime(at),
        version: nextVersion(),
        is_deleted: 0,
      },
    ]);
    this.#changed(tenantId, userId);
  }

  async attributes(tenantId: string, userId: string): Promise<Record<string, string[]>> {
    const row = z.object({ item: z.string(), values: z.array(z.string()) });
    const rows = await query(this.ch, 'delivery.resident_attributes', { tenant: tenantId, user: userId }, row);
    return Object.fromEntries(rows.map((r) => [r.item, r.values]));
  }

  // ------------------------------------------------------------ interest tree and areas

  /** The tenant's categories; a tenant without any gets the default large/middle tree first. */
  async categories(tenantId: string): Promise<Category[]> {
    let rows = await query(this.ch, 'delivery.categories', { tenant: tenantId }, categoryRow);
    if (rows.length === 0) {
      const values: Record<string, unknown>[] = [];
      DEFAULT_TREE.forEach(([large, middles], i) => {
        const id = `c${i + 1}`;
        values.push(this.#categoryRow(tenantId, { id, parentId: '', name: large, sort: i, retired: false }));
        middles.forEach((m, j) =>
          values.push(
            this.#categoryRow(tenantId, { id: `${id}_${j + 1}`, parentId: id, name: m, sort: j, retired: false }),
          ),
        );
      });
      await this.ch.insert({ table: 'delivery_categories', format: 'JSONEachRow', values });
      rows = await query(this.ch, 'delivery.categories', { tenant: tenantId }, categoryRow);
    }
    return rows.map((r) => ({
      id: r.category_id,
      parentId: r.parent_id,
      name: r.name,
      sort: r.sort,
      retired: r.retired === 1,
    }));
  }

  /** Adds several areas at once, after the tenant's existing ones, in one write. */
  async addAreas(tenantId: string, names: readonly string[]): Promise<Category[]> {
    const existing = (await this.categories(tenantId)).filter((c) => c.parentId === AREA_ROOT).length;
    const areas = names.map((name, i) => {
      const v = categoryInputSchema.parse({ parentId: AREA_ROOT, name });
      return {
        id: shortId('a'),
        parentId: AREA_ROOT,
        name: v.name,
        sort: existing + i,
        retired: false,
      } satisfies Category;
    });
    if (areas.length)
      await this.ch.insert({
        table: 'delivery_categories',
        format: 'JSONEachRow',
        values: areas.map((c) => this.#categoryRow(tenantId, c)),
      });
    this.changes++;
    return areas;
  }

  async addCategory(tenantId: string, input: unknown): Promise<Category> {
    const v = categoryInputSchema.parse(input);
    const all = await this.categories(tenantId);
    if (v.parentId && v.parentId !== AREA_ROOT) {
      const parent = all.find((c) => c.id === v.parentId);
      if (!parent) throw new AppError('category_not_found', `親の分類 ${v.parentId} は見つかりません`, 404);
      if (parent.parentId !== '')
        throw new AppError('category_too_deep', '分類は大分類・中分類の 2 段までです (小分類は地域です)', 400);
    }
    const siblings = all.filter((c) => c.parentId === v.parentId);
    const c: Category = {
      id: v.parentId === AREA_ROOT ? shortId('a') : shortId('c'),
      parentId: v.parentId,
      name: v.name,
      sort: v.sort ?? siblings.length,
      retired: false,
    };
    await this.ch.insert({
      table: 'delivery_categories',
      format: 'JSONEachRow',
      values: [this.#categoryRow(tenantId, c)],
    });
    this.changes++;
    return c;
  }

  async patchCategory(tenantId: string, id: string, input: unknown): Promise<Category> {
    const v = categoryPatchSchema.parse(input);
    const c = (await this.categories(tenantId)).find((x) => x.id === id);
    if (!c) throw new AppError('category_not_found', `分類 ${id} は見つかりません`, 404);
    const next = { ...c, name: v.name ?? c.name, sort: v.sort ?? c.sort, retired: v.retired ?? c.retired };
    await this.ch.insert({
      table: 'delivery_categories',
      format: 'JSONEachRow',
      values: [this.#categoryRow(tenantId, next)],
    });
    this.changes++;
    return next;
  }

  #categoryRow(tenantId: string, c: Category): Record<string, unknown> {
    return {
      tenant_id: tenantId,
      category_id: c.id,
      parent_id: c.parentId,
      name: c.name,
      sort: c.sort,
      retired: c.retired ? 1 : 0,
      updated_at: chDateTime(Date.now()),
      version: nextVersion(),
      is_deleted: 0,
    };
  }

  // ------------------------------------------------------------ extra items

  async items(tenantId: string): Promise<AttributeItem[]> {
    const rows = await query(this.ch, 'delivery.attribute_items', { tenant: tenantId }, itemRow);
    return rows.map((r) => ({
      id: r.item_id,
      label: r.label,
      multiple: r.multiple === 1,
      options: JSON.parse(r.options) as ItemOption[],
      sort: r.sort,
      retired: r.retired === 1,
    }));
  }

  async addItem(tenantId: string, input: unknown): Promise<AttributeItem> {
    const v = itemInputSchema.parse(input);
    const existing = await this.items(tenantId);
    const item: AttributeItem = {
      id: shortId('i'),
      label: v.label,
      multiple: v.multiple,
      sort: v.sort ?? existing.length,
      retired: false,
      options: v.options.map((o, i) => ({ id: `o${i + 1}`, label: o.label })),
    };
    await this.#putItem(tenantId, item);
    return item;
  }

  async patchItem(tenantId: string, id: string, input: unknown): Promise<AttributeItem> {
    const v = itemPatchSchema.parse(input);
    const item = (await this.items(tenantId)).find((x) => x.id === id);
    if (!item) throw new AppError('item_not_found', `属性項目 ${id} は見つかりません`, 404);
    let options = item.options;
    if (v.options) {
      options = [...item.options];
      let n = options.length;
      for (const o of v.options) {
        const at = o.id ? options.findIndex((x) => x.id === o.id) : -1;
        if (o.id && at < 0) throw new AppError('option_not_found', `選択肢 ${o.id} は見つかりません`, 404);
        if (at >= 0) options[at] = { ...options[at]!, label: o.label, retired: o.retired ?? options[at]!.retired };
        else options.push({ id: `o${++n}`, label: o.label, retired: o.retired });
      }
    }
    const next = {
      ...item,
      label: v.label ?? item.label,
      retired: v.retired ?? item.retired,
      sort: v.sort ?? item.sort,
      options,
    };
    await this.#putItem(tenantId, next);
    return next;
  }

  async #putItem(tenantId: string, i: AttributeItem): Promise<void> {
    await this.ch.insert({
      table: 'delivery_attribute_items',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          item_id: i.id,
          label: i.label,
          multiple: i.multiple ? 1 : 0,
          options: JSON.stringify(i.options),
          sort: i.sort,
          retired: i.retired ? 1 : 0,
          updated_at: chDateTime(Date.now()),
          version: nextVersion(),
          is_deleted: 0,
        },
      ],
    });
    this.changes++;
  }
}
