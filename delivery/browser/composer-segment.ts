/**
 * The composer's segment builder: groups of conditions on residents' attributes (built-in items from
 * the vocabulary, the tenant's areas and 関心のある分野 tree, its extra items), each condition and group
 * negatable, groups joined by AND / OR; the condition delivery's audience schema takes, the segment in
 * words (its label in the delivery list), and a saved condition back into the builder.
 */
import { el, vocabulary } from '../../core/browser/kit.ts';
import { nextId } from './page.ts';
import type { AttributeItem, Category, Condition } from './types.ts';

type Join = 'and' | 'or';

export interface Option {
  id: string;
  label: string;
  /** A middle category of the interest tree (drawn indented). */
  indent?: boolean;
  /** The middle category (large/middle) this option is that category in one area of. */
  under?: string;
  /** The area's name alone, under its middle category. */
  short?: string;
}

/** An attribute a condition can be on. */
export interface CatalogItem {
  key: string;
  label: string;
  kind: 'choice' | 'year';
  multiple?: boolean;
  options: Option[];
  hint?: string;
}

interface Cond {
  attr: string;
  op: string;
  values: string[];
  min: string;
  max: string;
  not: boolean;
}
interface Group {
  op: Join;
  not: boolean;
  conds: Cond[];
}
export interface Segment {
  op: Join;
  groups: Group[];
}

const newCond = (): Cond => ({ attr: '', op: 'in', values: [], min: '', max: '', not: false });
const newGroup = (): Group => ({ op: 'and', not: false, conds: [newCond()] });
const MAX_PARTS = 20;

/** The operators an item's condition can take: [value, words after the item's name]. */
function opsOf(item: CatalogItem | undefined): Array<[string, string]> {
  if (!item) return [];
  if (item.kind === 'year')
    return [
      ['between', 'が範囲内'],
      ['exists', 'を回答済み'],
    ];
  if (item.multiple)
    return [
      ['in', 'のいずれかを含む'],
      ['all', 'をすべて含む'],
      ['exists', 'を回答済み'],
    ];
  return [
    ['in', 'がいずれか'],
    ['exists', 'を回答済み'],
  ];
}

/** The attributes to choose from: the built-in items, then the tenant's extra ones (retired ones left out). */
export function catalogOf(cats: Category[], items: AttributeItem[]): CatalogItem[] {
  const live = (c: { retired?: boolean }) => !c.retired;
  const bySort = (a: { sort: number }, b: { sort: number }) => a.sort - b.sort;
  const areas: Option[] = cats
    .filter((c) => c.parentId === '@area' && live(c))
    .sort(bySort)
    .map((c) => ({ id: c.id, label: c.name }));
  const interests: Option[] = [];
  for (const l of cats.filter((c) => c.parentId === '' && live(c)).sort(bySort)) {
    interests.push({ id: l.id, label: l.name });
    for (const mid of cats.filter((c) => c.parentId === l.id && live(c)).sort(bySort)) {
      const path = `${l.id}/${mid.id}`;
      interests.push({ id: path, label: `${l.name} › ${mid.name}`, indent: true });
      // the small level: the middle one in one area (what residents answer when the tenant has areas)
      for (const a of areas)
        interests.push({
          id: `${path}/${a.id}`,
          label: `${l.name} › ${mid.name} › ${a.label}`,
          under: path,
          short: a.label,
        });
    }
  }
  const label = (key: string) => vocabulary.itemLabels[key] ?? key;
  const choice = (key: string, multiple: boolean, options: readonly Option[]): CatalogItem => ({
    key,
    label: label(key),
    kind: 'choice',
    multiple,
    options: [...options],
  });
  return [
    choice('gender', false, vocabulary.genders),
    { key: 'birth_year', label: label('birth_year'), kind: 'year', options: [] },
    choice('lifestyle', false, vocabulary.lifestyles),
    choice('residence', false, areas),
    choice('news_areas', true, areas),
    {
      ...choice('interests', true, interests),
      hint: '大分類・中分類を選ぶと、その下の中分類・地域を選んだ人も含みます。地域ごとに選ぶには中分類の「地域で選ぶ」を開いてください。',
    },
    ...items
      .filter(live)
      .sort(bySort)
      .map(
        (it): CatalogItem => ({
          key: `x:${it.id}`,
          label: it.label,
          kind: 'choice',
          multiple: !!it.multiple,
          options: (it.options ?? []).map((o) => ({ id: o.id, label: o.label + (o.retired ? ' (廃止)' : '') })),
        }),
      ),
  ];
}

const isLeaf = (x: Condition | undefined): boolean => !!x && ('attr' in x || ('not' in x && 'attr' in x.not));
type Leaf = Extract<Condition, { attr: string }>;

/** The builder's state from a condition it built: groups of conditions under one AND / OR; null for any other shape. */
export function segmentOf(c: Condition): Segment | null {
  const cond = (x: Condition): Cond => {
    const not = 'not' in x;
    const l = (not ? x.not : x) as Leaf;
    return {
      attr: l.attr,
      op: l.op,
      values: (l.values ?? []).slice(),
      min: l.min === undefined ? '' : String(l.min),
      max: l.max === undefined ? '' : String(l.max),
      not,
    };
  };
  const kidsOf = (x: Condition) => ('and' in x ? x.and : 'or' in x ? x.or : undefined);
  const group = (x: Condition): Group | null => {
    let not = false;
    if ('not' in x && !isLeaf(x)) {
      not = true;
      x = x.not;
    }
    if (isLeaf(x)) return { op: 'and', not, conds: [cond(x)] };
    const kids = kidsOf(x);
    if (!kids || !kids.every(isLeaf)) return null;
    return { op: 'and' in x ? 'and' : 'or', not, conds: kids.map(cond) };
  };
  const kids = kidsOf(c);
  if (kids && !kids.every(isLeaf)) {
    const groups = kids.map(group);
    return groups.every((g) => g !== null) ? { op: 'and' in c ? 'and' : 'or', groups: groups as Group[] } : null;
  }
  const g = group(c);
  return g ? { op: 'and', groups: [g] } : null;
}

/** The builder in `box`; `onChange` runs after every change of the segment. */
export class SegmentBuilder {
  segment: Segment = { op: 'and', groups: [newGroup()] };
  /** The attribute items, once loaded. */
  catalog: CatalogItem[] | null = null;
  readonly #box: HTMLElement;
  readonly #onChange: () => void;

  constructor(box: HTMLElement, onChange: () => void) {
    this.#box = box;
    this.#onChange = onChange;
  }

  #itemOf(key: string): CatalogItem | undefined {
    return (this.catalog ?? []).find((x) => x.key === key);
  }

  /** Redraws the builder and says the segment changed. */
  #redraw(): void {
    this.render();
    this.#onChange();
  }

  /** The attribute selects of group gi (for focus after a redraw). */
  #attrSelects(gi: number): NodeListOf<HTMLSelectElement> | undefined {
    return this.#box.querySelectorAll('.seg-group')[gi]?.querySelectorAll<HTMLSelectElement>('select[data-role=attr]');
  }

  render(): void {
    const box = this.#box;
    box.textContent = '';
    if (!this.catalog) {
      box.appendChild(el('p', { class: 'note', text: '属性を読み込み中…' }));
      return;
    }
    const seg = this.segment;
    const joinWord = (op: Join) => (op === 'and' ? 'かつ' : 'または');
    const opSelect = (label: string, value: Join, onChange: (v: Join) => void) => {
      const id = nextId('op');
      const s = el('select', { id }, [
        el('option', { value: 'and', text: 'すべて満たす (AND)', selected: value === 'and' }),
        el('option', { value: 'or', text: 'いずれかを満たす (OR)', selected: value === 'or' }),
      ]);
      s.addEventListener('change', () => {
        onChange(s.value as Join);
        this.#redraw();
      });
      return el('span', { class: 'inline' }, [el('label', { for: id, text: label }), ' ', s]);
    };
    box.appendChild(
      el('p', { class: 'seg-root-op' }, [
        opSelect('グループどうしの組み合わせ:', seg.op, (v) => {
          seg.op = v;
        }),
      ]),
    );
    seg.groups.forEach((g, gi) => {
      const gn = gi + 1;
      const notId = nextId('gnot');
      const gNot = el('input', { type: 'checkbox', id: notId, checked: g.not });
      const set = el(
        'fieldset',
        { class: `seg-group${g.not ? ' negated' : ''}`, 'data-field': `audience.group.${gi}` },
        [
          el('legend', { text: `グループ ${gn}` }),
          el('div', { class: 'seg-group-head' }, [
            opSelect('このグループの条件を', g.op, (v) => {
              g.op = v;
            }),
            el('label', { class: 'check', for: notId }, [gNot, ' このグループに当てはまる人を除く']),
          ]),
        ],
      );
      gNot.addEventListener('change', () => {
        g.not = gNot.checked;
        set.classList.toggle('negated', g.not);
        this.#onChange();
      });
      g.conds.forEach((c, ci) => {
        if (ci > 0) set.appendChild(el('div', { class: 'joiner', 'aria-hidden': 'true', text: joinWord(g.op) }));
        set.appendChild(this.#renderCond(g, c, gi, ci));
      });
      set.appendChild(
        el('p', { class: 'actions' }, [
          el('button', {
            type: 'button',
            class: 'secondary small',
            text: '＋ 条件を追加',
            'aria-label': `グループ ${gn} に条件を追加`,
            disabled: g.conds.length >= MAX_PARTS,
            onclick: () => {
              g.conds.push(newCond());
              this.#redraw();
              const sel = this.#attrSelects(gi);
              if (sel?.length) sel[sel.length - 1]!.focus();
            },
          }),
          seg.groups.length > 1
            ? el('button', {
                type: 'button',
                class: 'danger small',
                text: 'グループを削除',
                'aria-label': `グループ ${gn} を削除`,
                onclick: () => {
                  seg.groups.splice(gi, 1);
                  this.#redraw();
                },
              })
            : null,
        ]),
      );
      if (gi > 0)
        box.appendChild(el('div', { class: 'joiner group-joiner', 'aria-hidden': 'true', text: joinWord(seg.op) }));
      box.appendChild(set);
    });
    box.appendChild(
      el('p', {}, [
        el('button', {
          type: 'button',
          class: 'secondary small',
          id: 'add-group',
          text: '＋ グループを追加',
          disabled: seg.groups.length >= MAX_PARTS,
          onclick: () => {
            seg.groups.push(newGroup());
            this.#redraw();
            const sel = box.querySelectorAll<HTMLSelectElement>('select[data-role=attr]');
            sel[sel.length - 1]?.focus();
          },
        }),
      ]),
    );
    box.appendChild(
      el('p', { class: 'note seg-summary' }, [
        '条件の要約: ',
        el('span', { id: 'segment-summary', text: this.describe() || '(未設定)' }),
      ]),
    );
  }

  #renderCond(g: Group, c: Cond, gi: number, ci: number): HTMLElement {
    const catalog = this.catalog ?? [];
    const name = `グループ ${gi + 1} の条件 ${ci + 1}`;
    const item = this.#itemOf(c.attr);
    const attrId = nextId('attr');
    const attr = el('select', { id: attrId, 'data-role': 'attr' }, [
      el('option', { value: '', text: '属性を選ぶ', selected: !c.attr }),
      ...catalog.map((it) => el('option', { value: it.key, text: it.label, selected: it.key === c.attr })),
    ]);
    attr.addEventListener('change', () => {
      c.attr = attr.value;
      c.values = [];
      c.min = '';
      c.max = '';
      c.op = opsOf(this.#itemOf(c.attr))[0]?.[0] ?? 'in';
      this.#redraw();
      this.#attrSelects(gi)?.[ci]?.focus();
    });
    const parts: Node[] = [el('label', { for: attrId, class: 'sr', text: `${name} の属性` }), attr];
    if (item) {
      const opId = nextId('opr');
      const op = el(
        'select',
        { id: opId, 'data-role': 'op' },
        opsOf(item).map(([value, text]) => el('option', { value, text, selected: value === c.op })),
      );
      op.addEventListener('change', () => {
        c.op = op.value;
        this.#redraw();
      });
      parts.push(el('label', { for: opId, class: 'sr', text: `${name} の条件` }), op);
    }
    const values = el('div', { class: 'seg-values' });
    if (item && c.op === 'between') {
      const year = (key: 'min' | 'max', label: string) => {
        const id = nextId('yr');
        const input = el('input', {
          id,
          type: 'number',
          inputmode: 'numeric',
          min: 1900,
          max: 2100,
          step: 1,
          value: c[key],
          'data-role': key,
          placeholder: '例: 1970',
        });
        input.addEventListener('input', () => {
          c[key] = input.value;
          this.#onChange();
        });
        return el('label', { for: id, class: 'inline' }, [input, ` ${label}`]);
      };
      values.append(year('min', '年から'), year('max', '年まで'));
    } else if (item && c.op !== 'exists') {
      values.append(...this.#choices(item, c, name));
    }
    const notCb = el('input', { type: 'checkbox', checked: c.not, 'data-role': 'not' });
    const row = el('div', { class: `seg-cond${c.not ? ' negated' : ''}`, role: 'group', 'aria-label': name }, [
      el('div', { class: 'seg-cond-head' }, [
        ...parts,
        el('label', { class: 'check not' }, [notCb, ' を除く']),
        el('span', { class: 'spacer' }),
        el('button', {
          type: 'button',
          class: 'danger small',
          text: '削除',
          'aria-label': `${name} を削除`,
          onclick: () => {
            g.conds.splice(ci, 1);
            if (!g.conds.length) g.conds.push(newCond());
            this.#redraw();
          },
        }),
      ]),
      values,
    ]);
    notCb.addEventListener('change', () => {
      c.not = notCb.checked;
      row.classList.toggle('negated', c.not);
      this.#onChange();
    });
    return row;
  }

  /** The values of a choice condition as checkboxes; a middle category's areas folded under it. */
  #choices(item: CatalogItem, c: Cond, name: string): HTMLElement[] {
    const out: HTMLElement[] = [];
    if (!item.options.length)
      out.push(
        el('p', {
          class: 'note',
          text:
            item.key === 'residence' || item.key === 'news_areas'
              ? '地域が登録されていません (配信設定の「地域」で追加してください)。'
              : '選択肢がありません。',
        }),
      );
    const tree = item.options.some((o) => o.under);
    const box = el('div', { class: `options${tree ? ' tree' : ''}`, role: 'group', 'aria-label': `${name} の値` });
    const check = (o: Option, text: string) => {
      const cb = el('input', { type: 'checkbox', value: o.id, checked: c.values.includes(o.id) });
      cb.addEventListener('change', () => {
        c.values = Array.from(box.querySelectorAll<HTMLInputElement>('input:checked'), (x) => x.value);
        this.#onChange();
      });
      return el('label', { class: `check${o.indent ? ' indent' : ''}` }, [cb, ` ${text}`]);
    };
    for (const o of item.options) {
      if (o.under) continue;
      const small = tree ? item.options.filter((x) => x.under === o.id) : [];
      if (!small.length) {
        box.appendChild(check(o, o.label));
        continue;
      }
      // a middle category and, folded under it, the same in each area
      const chosen = small.filter((x) => c.values.includes(x.id)).length;
      const areaBox = el(
        'div',
        { class: 'areas', role: 'group', 'aria-label': `${o.label} の地域` },
        small.map((x) => check(x, x.short ?? x.label)),
      );
      const summary = el('summary', { text: `地域で選ぶ${chosen ? ` (${chosen})` : ''}` });
      areaBox.addEventListener('change', () => {
        const n = areaBox.querySelectorAll('input:checked').length;
        summary.textContent = `地域で選ぶ${n ? ` (${n})` : ''}`;
      });
      box.appendChild(
        el('div', { class: 'middle' }, [
          check(o, o.label),
          el('details', { class: 'areas', open: chosen > 0 }, [summary, areaBox]),
        ]),
      );
    }
    out.push(box);
    if (item.hint) out.push(el('p', { class: 'hint', text: item.hint }));
    return out;
  }

  /** The first thing missing in the segment, in words; '' when it can be sent. */
  incomplete(): string {
    for (const [gi, g] of this.segment.groups.entries())
      for (const [ci, c] of g.conds.entries()) {
        const where = `グループ ${gi + 1} の条件 ${ci + 1}`;
        if (!c.attr) return `${where} の属性を選んでください`;
        if ((c.op === 'in' || c.op === 'all') && !c.values.length) return `${where} の値を 1 つ以上選んでください`;
        if (c.op === 'between' && c.min === '' && c.max === '')
          return `${where} の生まれ年 (から・まで) を入力してください`;
        if (c.op === 'between' && c.min !== '' && c.max !== '' && Number(c.min) > Number(c.max))
          return `${where} の生まれ年は「から」≦「まで」にしてください`;
      }
    return '';
  }

  /** The condition as delivery's audience schema takes it. */
  condition(): Condition {
    const leaf = (c: Cond): Condition => {
      const l: Leaf = { attr: c.attr, op: c.op };
      if (c.op === 'in' || c.op === 'all') l.values = c.values.slice();
      if (c.op === 'between') {
        if (c.min !== '') l.min = Math.trunc(Number(c.min));
        if (c.max !== '') l.max = Math.trunc(Number(c.max));
      }
      return c.not ? { not: l } : l;
    };
    const join = (op: Join, xs: Condition[]): Condition =>
      xs.length === 1 ? xs[0]! : op === 'and' ? { and: xs } : { or: xs };
    const gs = this.segment.groups.map((g) => {
      const x = join(g.op, g.conds.map(leaf));
      return g.not ? { not: x } : x;
    });
    return join(this.segment.op, gs);
  }

  /** 「性別: 女性 かつ お住まい: 久居」 — the segment in words (its label in the delivery list). */
  describe(): string {
    if (!this.catalog) return '';
    const one = (c: Cond) => {
      const item = this.#itemOf(c.attr);
      if (!item) return '';
      let s: string;
      if (c.op === 'exists') s = `${item.label}: 回答あり`;
      else if (c.op === 'between') s = `${item.label}: ${c.min || ''}〜${c.max || ''}年`;
      else {
        const names = c.values.map((v) => item.options.find((x) => x.id === v)?.label ?? v);
        s = `${item.label}: ${names.join(c.op === 'all' ? '・' : '/')}`;
      }
      return c.not ? `${s} 以外` : s;
    };
    const groups = this.segment.groups;
    const gs = groups
      .map((g) => {
        const parts = g.conds.map(one).filter(Boolean);
        const s = parts.join(g.op === 'and' ? ' かつ ' : ' または ');
        if (g.not && s) return `(${s}) 以外`;
        return parts.length > 1 && groups.length > 1 ? `(${s})` : s;
      })
      .filter(Boolean);
    const text = gs.join(this.segment.op === 'and' ? ' かつ ' : ' または ');
    return text.length > 100 ? `${text.slice(0, 99)}…` : text;
  }
}
