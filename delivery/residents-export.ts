/**
 * 住民の登録内容 as CSV: every resident of a tenant (or only its friends) with what they registered,
 * by name (areas, the interest tree, extra items' options), for staff to check and analyse in Excel
 * and to take their data elsewhere. Streamed page by page (keyset over user_id), so 2M residents
 * never sit in memory at once. Personal data: the route asks for the export_residents permission,
 * and every export is in the audit log.
 */
import { CSV_BOM, csvLine } from '../core/csv.ts';
import {
  BUILTIN_LABELS,
  GENDERS,
  LIFESTYLES,
  type AttributeItem,
  type Category,
  type ResidentStore,
} from './residents.ts';
import type { DeliveryStore } from './store.ts';
import { tokyoMinute } from '../core/time.ts';
import { z } from '../core/zod.ts';

const PAGE = 20_000;

const stateRow = z.object({ user_id: z.string(), is_friend: z.number(), changed_ms: z.coerce.number() });
const answerRow = z.object({
  user_id: z.string(),
  item: z.string(),
  values: z.array(z.string()),
  answered_ms: z.coerce.number(),
});
type AnswerRow = z.infer<typeof answerRow>;

/** The CSV's lines (the first with the BOM and the header), each ending in CRLF. */
export async function* residentsCsv(
  store: DeliveryStore,
  residents: ResidentStore,
  tenantId: string,
  opts: { friendsOnly?: boolean } = {},
): AsyncGenerator<string> {
  const categories = await residents.categories(tenantId);
  const items = await residents.items(tenantId);
  const label = labeller(categories, items);
  const columns = [...Object.keys(BUILTIN_LABELS), ...items.map((i) => `x:${i.id}`)];
  const header = [
    'ユーザーID',
    '友だち',
    '友だち状態の日時',
    ...Object.values(BUILTIN_LABELS),
    ...items.map((i) => (i.retired ? `${i.label} (廃止)` : i.label)),
    '最後に回答した日時',
  ];
  yield CSV_BOM + csvLine(header);
  let after = '';
  for (;;) {
    const states = await store.rows(
      'delivery.residents_export_states',
      { tenant: tenantId, after, friends_only: opts.friendsOnly ? 1 : 0, limit: PAGE },
      stateRow,
    );
    if (states.length === 0) return;
    const upto = states.at(-1)!.user_id;
    const answers = new Map<string, AnswerRow[]>();
    for (const a of await store.rows(
      'delivery.residents_export_answers',
      { tenant: tenantId, after, upto },
      answerRow,
    )) {
      let list = answers.get(a.user_id);
      if (!list) answers.set(a.user_id, (list = []));
      list.push(a);
    }
    let out = '';
    for (const s of states) {
      const mine = answers.get(s.user_id) ?? [];
      const byItem = new Map(mine.map((a) => [a.item, a.values]));
      const last = mine.reduce((m, a) => Math.max(m, Number(a.answered_ms)), 0);
      const row = [
        s.user_id,
        Number(s.is_friend) === 1 ? '友だち' : 'ブロック中',
        tokyoMinute(Number(s.changed_ms)),
        ...columns.map((c) => (byItem.get(c) ?? []).map((v) => label(c, v)).join('、')),
        last ? tokyoMinute(last) : '',
      ];
      out += csvLine(row);
    }
    yield out;
    if (states.length < PAGE) return;
    after = upto;
  }
}

/** An answer's value by name: options, areas, interest paths (大 › 中 › 地域); an unknown id as it is. */
function labeller(categories: Category[], items: AttributeItem[]): (item: string, value: string) => string {
  const names = new Map(categories.map((c) => [c.id, c.retired ? `${c.name} (廃止)` : c.name]));
  const options = new Map<string, Map<string, string>>([
    ['lifestyle', new Map(LIFESTYLES.map((o) => [o.id, o.label]))],
    ['gender', new Map(GENDERS.map((o) => [o.id, o.label]))],
    ...items.map(
      (i) => [`x:${i.id}`, new Map(i.options.map((o) => [o.id, o.retired ? `${o.label} (廃止)` : o.label]))] as const,
    ),
  ]);
  return (item, value) => {
    if (item === 'birth_year') return value;
    if (item === 'interests')
      return value
        .split('/')
        .map((id) => names.get(id) ?? id)
        .join(' › ');
    if (item === 'residence' || item === 'news_areas') return names.get(value) ?? value;
    return options.get(item)?.get(value) ?? value;
  };
}
