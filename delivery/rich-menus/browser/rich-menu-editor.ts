/**
 * リッチメニュー editor (/municipalities/:id/rich-menus): tabs (menus), the design form (name,
 * chat-bar text, a standard layout or areas drawn on the image, each area's action), the image
 * upload, a phone-sized preview with the areas outlined, versions (save, publish, roll back), the
 * default, per-audience segment, scheduled switches. Everything through the rich menu API.
 */
import { api, clearErrors, el, errorText, say, showErrors } from '../../../core/browser/kit.ts';
import { catalogOf, SegmentBuilder, segmentOf } from '../../browser/composer-segment.ts';
import type { AttributeItem, Category, Condition } from '../../browser/types.ts';

interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface Action {
  type: string;
  uri?: string;
  surveyId?: string;
  data?: string;
  menuId?: string;
}
interface Area {
  label: string;
  action: Action;
  bounds?: Bounds;
}
interface Design {
  name: string;
  chatBarText: string;
  layout: string;
  imageId: string;
  size: { width: number; height: number };
  areas: Area[];
}
interface Menu {
  menuId: string;
  title: string;
  liveVersion: number;
  isDefault: boolean;
  audience: unknown;
  priority: number;
  job: { state: string; note?: string; version?: number } | null;
}
interface Version {
  version: number;
  design: Design;
  status: string;
  createdAt: number;
}
interface Layout {
  id: string;
  label: string;
  kind: string;
  areas: Array<[number, number, number, number]>;
}
interface Schedule {
  scheduleId: string;
  menuId: string;
  startsAt: number;
  endsAt: number;
  state: string;
}

const root = document.getElementById('rich-menu-editor')!;
const tenant = root.dataset.tenant!;
const canEdit = root.hasAttribute('data-can-edit');
const base = `/api/v1/tenants/${tenant}/rich-menus`;

let layouts: Layout[] = [];
let actions: Record<string, string> = {};
let menus: Menu[] = [];
let schedules: Schedule[] = [];
let current: string | undefined;
/** The design being edited. */
let draft: Design = {
  name: '',
  chatBarText: 'メニュー',
  layout: 'compact-3',
  imageId: '',
  size: { width: 2500, height: 843 },
  areas: [],
};

const STATUS: Record<string, string> = { draft: '下書き', published: '公開中', superseded: '過去の公開版' };
const STATE: Record<string, string> = { pending: '予約中', active: '切り替え中', done: '終了', cancelled: '取り消し' };

const status = el('p', { id: 'rm-status', class: 'status', role: 'status', 'aria-live': 'polite' });

async function load(): Promise<void> {
  const r = await api<{ menus: Menu[]; layouts: Layout[]; actions: Record<string, string>; schedules: Schedule[] }>(
    'GET',
    base,
  );
  if (!r.ok) {
    root.replaceChildren(el('p', { class: 'field-error', role: 'alert', text: errorText(r) }));
    return;
  }
  ({ menus, layouts, actions, schedules } = r.body);
  current ??= menus[0]?.menuId;
  await drawMenu();
}

function tabs(): HTMLElement {
  const bar = el(
    'div',
    { class: 'rm-tabs', role: 'group', 'aria-label': 'タブ (メニュー)' },
    menus.map((m) =>
      el('button', {
        type: 'button',
        class: 'secondary',
        'aria-pressed': String(m.menuId === current),
        'data-menu': m.menuId,
        text: `${m.title}${m.isDefault ? ' (既定)' : ''}${m.liveVersion ? '' : ' (未公開)'}`,
        onclick: () => {
          current = m.menuId;
          void drawMenu();
        },
      }),
    ),
  );
  if (canEdit) {
    const title = el('input', { id: 'rm-new-title', maxlength: 40, 'aria-label': '新しいタブの名前' });
    bar.append(
      title,
      el('button', {
        type: 'button',
        id: 'rm-add-menu',
        text: '＋ タブを追加',
        onclick: async () => {
          const r = await api<{ menu: Menu }>('POST', base, { title: title.value });
          if (!r.ok) return say(status, errorText(r), true);
          current = r.body.menu.menuId;
          await load();
          say(status, `タブ「${r.body.menu.title}」を追加しました`);
        },
      }),
    );
  }
  return bar;
}

async function drawMenu(): Promise<void> {
  const menu = menus.find((m) => m.menuId === current);
  if (!menu) {
    root.replaceChildren(tabs(), status);
    return;
  }
  const r = await api<{ menu: Menu; versions: Version[] }>('GET', `${base}/${menu.menuId}`);
  if (!r.ok) return say(status, errorText(r), true);
  const versions = r.body.versions;
  Object.assign(menu, r.body.menu);
  const latest = versions[0];
  draft = latest
    ? structuredClone(latest.design)
    : {
        name: menu.title,
        chatBarText: 'メニュー',
        layout: 'compact-3',
        imageId: '',
        size: { width: 2500, height: 843 },
        areas: [],
      };
  fitAreas();
  const form = el('form', { id: 'rm-form', class: 'rm-form card', novalidate: true, 'aria-labelledby': 'rm-form-h' });
  const preview = el('div', { class: 'rm-preview' });
  root.replaceChildren(
    tabs(),
    status,
    el('div', { class: 'rm-cols' }, [
      form,
      el('aside', { 'aria-labelledby': 'rm-preview-h' }, [
        el('h2', { id: 'rm-preview-h', text: 'プレビュー (スマートフォンの幅)' }),
        preview,
      ]),
    ]),
    versionsBlock(menu, versions),
    audienceBlock(menu),
    schedulesBlock(),
  );
  drawForm(form, preview, menu);
  if (menu.job) {
    say(status, menu.job.note ?? `版 ${menu.job.version ?? ''} を LINE に反映しています…`);
    setTimeout(() => void load(), 1000);
  }
}

/** A standard layout's areas, as many as it has (bounds from its fractions). */
function fitAreas(): void {
  const layout = layouts.find((l) => l.id === draft.layout);
  if (!layout) return;
  const { width, height } = draft.size;
  draft.areas = layout.areas.map(([fx, fy, fw, fh], i) => ({
    label: draft.areas[i]?.label ?? `エリア${i + 1}`,
    action: draft.areas[i]?.action ?? { type: 'uri', uri: '' },
    bounds: {
      x: Math.round(fx * width),
      y: Math.round(fy * height),
      width: Math.round((fx + fw) * width) - Math.round(fx * width),
      height: Math.round((fy + fh) * height) - Math.round(fy * height),
    },
  }));
}

function field(id: string, label: string, input: HTMLElement, field: string): HTMLElement {
  return el('div', { class: 'field', 'data-field': field }, [
    el('label', { for: id, text: label }),
    input,
    el('p', { class: 'field-error', id: `${id}-err`, hidden: true }),
  ]);
}

function drawForm(form: HTMLFormElement, preview: HTMLElement, menu: Menu): void {
  const disabled = !canEdit;
  const name = el('input', {
    id: 'rm-name',
    value: draft.name,
    maxlength: 100,
    disabled,
    'aria-describedby': 'rm-name-err',
  });
  const bar = el('input', {
    id: 'rm-bar',
    value: draft.chatBarText,
    maxlength: 14,
    disabled,
    'aria-describedby': 'rm-bar-err',
  });
  const layout = el('select', { id: 'rm-layout', disabled }, [
    ...layouts.map((l) => el('option', { value: l.id, text: l.label, selected: l.id === draft.layout })),
    el('option', { value: 'custom', text: '画像の上にエリアを描く', selected: draft.layout === 'custom' }),
  ]);
  const image = el('input', {
    id: 'rm-image',
    type: 'file',
    accept: 'image/png,image/jpeg',
    disabled,
    'aria-describedby': 'rm-image-err',
  });
  const areaList = el('div', { id: 'rm-areas' });
  name.addEventListener('input', () => (draft.name = name.value));
  bar.addEventListener('input', () => {
    draft.chatBarText = bar.value;
    drawPreview(preview, areaList);
  });
  layout.addEventListener('change', () => {
    draft.layout = layout.value;
    if (draft.layout !== 'custom') fitAreas();
    drawAreas(areaList, preview, menu);
    drawPreview(preview, areaList);
  });
  image.addEventListener('change', async () => {
    const f = image.files?.[0];
    if (!f) return;
    const data = await toBase64(f);
    const r = await api<{ imageId: string; width: number; height: number }>('POST', `${base}/images`, {
      type: f.type,
      data,
    });
    const err = document.getElementById('rm-image-err')!;
    if (!r.ok) {
      err.textContent = errorText(r);
      err.hidden = false;
      return;
    }
    err.hidden = true;
    draft.imageId = r.body.imageId;
    draft.size = { width: r.body.width, height: r.body.height };
    if (draft.layout !== 'custom') fitAreas();
    drawAreas(areaList, preview, menu);
    drawPreview(preview, areaList);
    say(status, `画像を登録しました (${r.body.width}×${r.body.height})`);
  });
  form.replaceChildren(
    el('h2', { id: 'rm-form-h', text: `「${menu.title}」のデザイン` }),
    el('div', { class: 'form-summary', role: 'alert', hidden: true }),
    field('rm-name', 'メニュー名 (管理用)', name, 'name'),
    field('rm-bar', 'メニューバーのテキスト (14 文字以内)', bar, 'chatBarText'),
    field('rm-layout', 'レイアウト', layout, 'layout'),
    field('rm-image', '画像 (PNG か JPEG、1 MB 以下、幅 800〜2500 ピクセル)', image, 'imageId'),
    el('h3', { text: 'エリアと動作' }),
    el('p', {
      class: 'note',
      id: 'rm-draw-note',
      hidden: draft.layout !== 'custom',
      text: 'プレビューの画像の上をドラッグしてエリアを描きます。',
    }),
    areaList,
    ...(canEdit
      ? [
          el('p', { class: 'actions' }, [
            el('button', {
              type: 'submit',
              id: 'rm-save',
              text: '下書きとして保存',
            }),
            el('button', {
              type: 'button',
              id: 'rm-publish',
              class: 'secondary',
              text: '保存して公開',
              onclick: () => void save(form, true),
            }),
          ]),
        ]
      : []),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void save(form, false);
  });
  drawAreas(areaList, preview, menu);
  drawPreview(preview, areaList);
}

function drawAreas(list: HTMLElement, preview: HTMLElement, menu: Menu): void {
  document.getElementById('rm-draw-note')?.toggleAttribute('hidden', draft.layout !== 'custom');
  const others = menus.filter((m) => m.menuId !== menu.menuId);
  list.replaceChildren(
    ...draft.areas.map((a, i) => {
      const id = `rm-area-${i}`;
      const label = el('input', { id: `${id}-label`, value: a.label, maxlength: 20, disabled: !canEdit });
      label.addEventListener('input', () => {
        a.label = label.value;
        drawPreview(preview, list);
      });
      const type = el(
        'select',
        { id: `${id}-type`, disabled: !canEdit },
        Object.entries(actions).map(([k, v]) => el('option', { value: k, text: v, selected: k === a.action.type })),
      );
      const param = paramInput(a, id, others);
      type.addEventListener('change', () => {
        a.action = { type: type.value };
        drawAreas(list, preview, menu);
      });
      return el('div', { class: 'rm-area-row', 'data-field': `areas.${i}` }, [
        el('strong', { text: `${i + 1}` }),
        el('label', { for: `${id}-label` }, ['ラベル', label]),
        el('label', { for: `${id}-type` }, ['動作', type]),
        param,
        draft.layout === 'custom' && canEdit
          ? el('button', {
              type: 'button',
              class: 'secondary',
              text: '削除',
              'aria-label': `エリア ${i + 1} を削除`,
              onclick: () => {
                draft.areas.splice(i, 1);
                drawAreas(list, preview, menu);
                drawPreview(preview, list);
              },
            })
          : false,
        el('p', { class: 'field-error', hidden: true }),
      ]);
    }),
  );
}

function paramInput(a: Area, id: string, others: Menu[]): HTMLElement | false {
  const act = a.action;
  const text = (key: 'uri' | 'surveyId' | 'data', label: string, placeholder = '') => {
    const input = el('input', { id: `${id}-param`, value: act[key] ?? '', placeholder, disabled: !canEdit });
    input.addEventListener('input', () => (act[key] = input.value));
    return el('label', { for: `${id}-param` }, [label, input]);
  };
  if (act.type === 'uri') return text('uri', 'リンク先 URL', 'https://');
  if (act.type === 'survey') return text('surveyId', 'アンケート ID');
  if (act.type === 'postback') return text('data', 'データ');
  if (act.type === 'switch') {
    act.menuId ??= others[0]?.menuId;
    const select = el(
      'select',
      { id: `${id}-param`, disabled: !canEdit },
      others.map((m) => el('option', { value: m.menuId, text: m.title, selected: m.menuId === act.menuId })),
    );
    select.addEventListener('change', () => (act.menuId = select.value));
    return el('label', { for: `${id}-param` }, ['切り替え先のタブ', select]);
  }
  return false;
}

function drawPreview(preview: HTMLElement, list: HTMLElement): void {
  const stage = el('div', { class: 'rm-stage', id: 'rm-stage' });
  stage.style.aspectRatio = `${draft.size.width} / ${draft.size.height}`;
  if (draft.imageId) stage.append(el('img', { src: `${base}/images/${draft.imageId}`, alt: 'メニューの画像' }));
  const pct = (v: number, of: number) => `${(v / of) * 100}%`;
  draft.areas.forEach((a, i) => {
    if (!a.bounds) return;
    const box = el('div', { class: 'rm-area', 'data-area': i, text: `${i + 1} ${a.label}` });
    box.style.left = pct(a.bounds.x, draft.size.width);
    box.style.top = pct(a.bounds.y, draft.size.height);
    box.style.width = pct(a.bounds.width, draft.size.width);
    box.style.height = pct(a.bounds.height, draft.size.height);
    stage.append(box);
  });
  if (draft.layout === 'custom' && canEdit) enableDrawing(stage, preview, list);
  preview.replaceChildren(
    el('div', { class: 'rm-phone' }, [stage, el('div', { class: 'rm-bar', text: `${draft.chatBarText} ▼` })]),
  );
}

function enableDrawing(stage: HTMLElement, preview: HTMLElement, list: HTMLElement): void {
  let start: { x: number; y: number } | undefined;
  const at = (e: PointerEvent) => {
    const r = stage.getBoundingClientRect();
    const fx = Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1);
    const fy = Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1);
    return { x: Math.round(fx * draft.size.width), y: Math.round(fy * draft.size.height) };
  };
  stage.addEventListener('pointerdown', (e) => {
    start = at(e);
    stage.setPointerCapture(e.pointerId);
  });
  stage.addEventListener('pointerup', (e) => {
    if (!start) return;
    const end = at(e);
    const b = {
      x: Math.min(start.x, end.x),
      y: Math.min(start.y, end.y),
      width: Math.abs(end.x - start.x),
      height: Math.abs(end.y - start.y),
    };
    start = undefined;
    if (b.width < 20 || b.height < 20 || draft.areas.length >= 20) return;
    draft.areas.push({ label: `エリア${draft.areas.length + 1}`, action: { type: 'uri', uri: '' }, bounds: b });
    const menu = menus.find((m) => m.menuId === current)!;
    drawAreas(list, preview, menu);
    drawPreview(preview, list);
  });
}

async function save(form: HTMLFormElement, andPublish: boolean): Promise<void> {
  clearErrors(form);
  const menu = menus.find((m) => m.menuId === current)!;
  const body = {
    name: draft.name,
    chatBarText: draft.chatBarText,
    layout: draft.layout,
    ...(draft.imageId ? { imageId: draft.imageId } : {}),
    areas: draft.areas.map((a) => ({
      label: a.label,
      action: a.action,
      ...(draft.layout === 'custom' && a.bounds ? { bounds: a.bounds } : {}),
    })),
  };
  const r = await api<{ version: Version }>('POST', `${base}/${menu.menuId}/versions`, body);
  if (!r.ok) {
    showErrors(form, r);
    return say(status, errorText(r), true);
  }
  if (!andPublish) {
    await drawMenu();
    return say(status, `版 ${r.body.version.version} を下書きとして保存しました`);
  }
  await publish(menu, r.body.version.version, 'publish');
}

async function publish(menu: Menu, version: number, how: 'publish' | 'rollback'): Promise<void> {
  const r = await api('POST', `${base}/${menu.menuId}/${how}`, { version });
  if (!r.ok) return say(status, errorText(r), true);
  say(status, `版 ${version} を LINE に反映しています…`);
  await waitJob(menu.menuId);
  await load();
  say(status, how === 'rollback' ? `版 ${version} に戻しました` : `版 ${version} を公開しました`);
}

async function waitJob(menuId: string): Promise<void> {
  for (;;) {
    const r = await api<{ menu: Menu }>('GET', `${base}/${menuId}`);
    if (!r.ok || !r.body.menu.job) return;
    if (r.body.menu.job.note) say(status, r.body.menu.job.note);
    await new Promise((res) => setTimeout(res, 500));
  }
}

function versionsBlock(menu: Menu, versions: Version[]): HTMLElement {
  return el('section', { class: 'card', 'aria-labelledby': 'rm-versions-h' }, [
    el('h2', { id: 'rm-versions-h', text: '版の履歴' }),
    el(
      'ul',
      { class: 'rm-versions', id: 'rm-versions' },
      versions.map((v) =>
        el('li', { 'data-version': v.version }, [
          `版 ${v.version} — ${v.version === menu.liveVersion ? '公開中' : (STATUS[v.status] ?? v.status)} `,
          canEdit && v.version !== menu.liveVersion
            ? el('button', {
                type: 'button',
                class: 'secondary',
                text: v.status === 'draft' ? 'この版を公開' : 'この版に戻す',
                onclick: () => void publish(menu, v.version, v.status === 'draft' ? 'publish' : 'rollback'),
              })
            : false,
        ]),
      ),
    ),
    canEdit && !menu.isDefault && menu.liveVersion
      ? el('button', {
          type: 'button',
          id: 'rm-default',
          class: 'secondary',
          text: 'このメニューを既定にする',
          onclick: async () => {
            const r = await api('POST', `${base}/${menu.menuId}/default`);
            if (r.ok) await load();
            say(status, r.ok ? `「${menu.title}」を既定のメニューにしました` : errorText(r), !r.ok);
          },
        })
      : false,
    canEdit && !menu.isDefault
      ? el('button', {
          type: 'button',
          id: 'rm-delete',
          class: 'secondary',
          text: 'このタブを削除',
          onclick: async () => {
            if (!window.confirm(`タブ「${menu.title}」を削除しますか`)) return;
            const r = await api('DELETE', `${base}/${menu.menuId}`);
            if (r.ok) {
              current = undefined;
              await load();
            }
            say(status, r.ok ? `タブ「${menu.title}」を削除しました` : errorText(r), !r.ok);
          },
        })
      : false,
  ]);
}

function audienceBlock(menu: Menu): HTMLElement {
  const box = el('div', { id: 'rm-segment' });
  const builder = new SegmentBuilder(box, () => {});
  void (async () => {
    const [cats, items] = await Promise.all([
      api<{ categories?: Category[] }>('GET', `/api/v1/tenants/${tenant}/categories`),
      api<{ items?: AttributeItem[] }>('GET', `/api/v1/tenants/${tenant}/attribute-items`),
    ]);
    builder.catalog = catalogOf(cats.ok ? (cats.body.categories ?? []) : [], items.ok ? (items.body.items ?? []) : []);
    if (!box.isConnected) return; // the page was drawn again meanwhile
    const saved = menu.audience ? segmentOf(menu.audience as Condition) : null;
    if (saved) builder.segment = saved;
    builder.render();
  })();
  const save = async (condition: Condition | null) => {
    const r = await api<{ linked: number; unlinked: number }>('PUT', `${base}/${menu.menuId}/audience`, {
      condition,
    });
    if (r.ok) await load();
    say(
      status,
      r.ok ? `保存しました (${r.body.linked} 人に表示、${r.body.unlinked} 人の表示を解除)` : errorText(r),
      !r.ok,
    );
  };
  return el('section', { class: 'card', 'aria-labelledby': 'rm-aud-h' }, [
    el('h2', { id: 'rm-aud-h', text: '表示する住民 (セグメント)' }),
    el('p', {
      class: 'note',
      id: 'rm-aud-now',
      text: menu.audience
        ? '条件に合う住民にはこのメニューが表示されます (登録内容が変わると自動で切り替わります)。'
        : 'いまは住民に結び付けていません (既定のメニューか、切り替えで表示されます)。',
    }),
    ...(canEdit && !menu.isDefault
      ? [
          box,
          el('p', { class: 'actions' }, [
            el('button', {
              type: 'button',
              id: 'rm-audience-save',
              class: 'secondary',
              text: 'このセグメントの住民に表示する',
              onclick: () => {
                const missing = builder.incomplete();
                if (missing) return say(status, missing, true);
                void save(builder.condition());
              },
            }),
            menu.audience
              ? el('button', {
                  type: 'button',
                  id: 'rm-audience-clear',
                  class: 'secondary',
                  text: '結び付けをやめる',
                  onclick: () => void save(null),
                })
              : false,
          ]),
        ]
      : []),
  ]);
}

function schedulesBlock(): HTMLElement {
  const published = menus.filter((m) => m.liveVersion);
  const which = el(
    'select',
    { id: 'rm-sched-menu', disabled: !canEdit },
    published.map((m) => el('option', { value: m.menuId, text: m.title })),
  );
  const from = el('input', { id: 'rm-sched-from', type: 'datetime-local', disabled: !canEdit });
  const to = el('input', { id: 'rm-sched-to', type: 'datetime-local', disabled: !canEdit });
  const title = (id: string) => menus.find((m) => m.menuId === id)?.title ?? id;
  const when = (ms: number) => new Date(ms).toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo' });
  return el('section', { class: 'card', 'aria-labelledby': 'rm-sched-h' }, [
    el('h2', { id: 'rm-sched-h', text: '切り替えの予約 (災害時・イベントなど)' }),
    el(
      'ul',
      { id: 'rm-schedules' },
      schedules.map((s) =>
        el('li', {}, [
          `${title(s.menuId)}: ${when(s.startsAt)} 〜 ${when(s.endsAt)} (${STATE[s.state] ?? s.state}) `,
          canEdit && (s.state === 'pending' || s.state === 'active')
            ? el('button', {
                type: 'button',
                class: 'secondary',
                text: '取り消す',
                onclick: async () => {
                  const r = await api('POST', `${base}/schedules/${s.scheduleId}/cancel`);
                  if (r.ok) await load();
                  say(status, r.ok ? '予約を取り消しました' : errorText(r), !r.ok);
                },
              })
            : false,
        ]),
      ),
    ),
    canEdit
      ? el('p', { class: 'actions' }, [
          el('label', { for: 'rm-sched-menu', text: 'メニュー' }),
          which,
          el('label', { for: 'rm-sched-from', text: '開始 (日本時間)' }),
          from,
          el('label', { for: 'rm-sched-to', text: '終了' }),
          to,
          el('button', {
            type: 'button',
            id: 'rm-sched-add',
            class: 'secondary',
            text: '予約する',
            onclick: async () => {
              const iso = (v: string) => (v ? `${v}:00+09:00` : '');
              const r = await api('POST', `${base}/schedules`, {
                menuId: which.value,
                startsAt: iso(from.value),
                endsAt: iso(to.value),
              });
              if (r.ok) await load();
              say(status, r.ok ? '切り替えを予約しました' : errorText(r), !r.ok);
            },
          }),
        ])
      : false,
  ]);
}

function toBase64(f: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(f);
  });
}

void load();
