import { query } from '../core/clickhouse.ts';
import { tokyoToday } from '../core/time.ts';
import { BUILTIN_ITEM_LABELS, builtinOptionLabel } from '../core/vocabulary.ts';
import { z } from '../core/zod.ts';
import { int64, type MetricsReader } from './reader.ts';

const countRow = z.object({ item: z.string(), value: z.string(), residents: int64 });
const nameRow = z.object({ kind: z.string(), id: z.string(), name: z.string(), options: z.string() });

/** Friends of a tenant by registered attribute (a separate call: it reads every resident's row). */
export interface AttributeBreakdown {
  tenantId: string;
  /** Whether this installation records residents' attributes at all. */
  available: boolean;
  /** Per item and value (ids as delivery/ stores them), with the names people read. */
  items: Array<{ item: string; itemLabel: string; value: string; label: string; residents: number }>;
  /** When the counts were taken (they are kept for a minute). */
  computedAt: string;
}

/** Friends by registered attribute, counted at most once a minute per tenant. */
export class AttributeCounts {
  readonly #cache = new Map<string, { at: number; value: AttributeBreakdown }>();

  constructor(private readonly reader: MetricsReader) {}

  async of(tenantId: string): Promise<AttributeBreakdown> {
    const reader = this.reader;
    const hit = this.#cache.get(tenantId);
    if (hit && Date.now() - hit.at < 60_000) return hit.value;
    const present = await reader.present();
    const available = present.has('resident_attributes') && present.has('resident_states');
    const year = Number(tokyoToday().slice(0, 4));
    const rows = available
      ? await query(reader.ch, 'metrics.resident_attributes', { tenant: tenantId, year }, countRow)
      : [];
    const names =
      present.has('delivery_categories') && present.has('delivery_attribute_items')
        ? await query(reader.ch, 'metrics.attribute_names', { tenant: tenantId }, nameRow)
        : [];
    const label = attributeLabeller(names);
    // age groups in age order, the rest as counted (most first, as the query gives them)
    const age = (v: string) => (v === '不明' ? 999 : v === '10代以下' ? 0 : parseInt(v, 10));
    const order = (a: { item: string; value: string }, i: number) => (a.item === 'birth_year' ? age(a.value) : i);
    const items = rows
      .map((a, i) => ({ a, key: order(a, i) }))
      .sort((x, y) => (x.a.item < y.a.item ? -1 : x.a.item > y.a.item ? 1 : x.key - y.key))
      .map(({ a }) => ({
        item: a.item,
        itemLabel: label.item(a.item),
        value: a.value,
        label: label.value(a.item, a.value),
        residents: a.residents,
      }));
    const value: AttributeBreakdown = { tenantId, available, computedAt: new Date().toISOString(), items };
    this.#cache.set(tenantId, { at: Date.now(), value });
    return value;
  }
}

/** Built-in attribute items as the breakdown shows them (birth years are counted by age group). */
const ITEM_LABELS: Record<string, string> = { ...BUILTIN_ITEM_LABELS, birth_year: '年代 (生まれ年から)' };

/**
 * Names for attribute items and values: built-in labels, the tenant's areas and interest tree
 * (大 › 中), its extra items and their options; an id nobody named shows as it is.
 */
function attributeLabeller(rows: Array<{ kind: string; id: string; name: string; options: string }>) {
  const categories = new Map<string, string>();
  const items = new Map<string, { label: string; options: Map<string, string> }>();
  for (const r of rows) {
    if (r.kind === 'category') categories.set(r.id, r.name);
    else {
      let options: Array<{ id: string; label: string }> = [];
      try {
        options = JSON.parse(r.options) as typeof options;
      } catch {
        /* an item without readable options keeps its ids */
      }
      items.set(`x:${r.id}`, { label: r.name, options: new Map(options.map((o) => [o.id, o.label])) });
    }
  }
  return {
    item: (item: string) => ITEM_LABELS[item] ?? items.get(item)?.label ?? item,
    value: (item: string, value: string): string => {
      if (item === 'interests')
        return value
          .split('/')
          .map((id) => categories.get(id) ?? id)
          .join(' › ');
      if (item === 'residence' || item === 'news_areas') return categories.get(value) ?? value;
      if (item === 'birth_year') return value;
      return builtinOptionLabel(item, value) ?? items.get(item)?.options.get(value) ?? value;
    },
  };
}
