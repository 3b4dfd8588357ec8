/**
 * faq's scenario page: the tree editor (the draft's nodes from the page's JSON, edited here and sent
 * to the FAQ API as a whole), publish and rollback, the xlsx import (checked first: errors by row,
 * then confirmed) and the settings form.
 */
import { api, el, errorText, readJson, say } from '../../core/browser/kit.ts';
import type { FaqNode, FaqSettings } from '../schemas.ts';

interface PageData {
  nodes: FaqNode[];
  settings: FaqSettings;
  mayEdit: boolean;
}
const d = readJson<PageData>('faq-data', { nodes: [], settings: {} as FaqSettings, mayEdit: false });
const nodes: FaqNode[] = d.nodes.map((n) => ({ ...n }));
let selected: string | null = null;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T | null;

const blank = (parentId: string, kind: FaqNode['kind']): FaqNode => {
  let i = nodes.length + 1;
  while (nodes.some((n) => n.id === `n${i}`)) i++;
  return {
    id: `n${i}`,
    parentId,
    kind,
    title: kind === 'category' ? '新しいカテゴリ' : '新しい質問',
    keywords: [],
    answer: '',
    imageUrl: '',
    links: [],
    goTo: '',
  };
};

function renderTree(): void {
  const tree = $('faq-tree');
  if (!tree) return;
  const branch = (parentId: string, level: number): HTMLElement[] =>
    nodes
      .filter((n) => n.parentId === parentId)
      .map((n) => {
        const kids = branch(n.id, level + 1);
        const button = el('button', {
          type: 'button',
          class: `faq-node${n.id === selected ? ' selected' : ''}`,
          'data-node': n.id,
          'aria-pressed': n.id === selected ? 'true' : 'false',
          text: `${n.kind === 'category' ? '📁 ' : ''}${n.title}`,
          onclick: () => select(n.id),
        });
        return el('li', { role: 'treeitem', 'aria-level': level, 'aria-expanded': kids.length ? 'true' : null }, [
          button,
          kids.length ? el('ul', { role: 'group' }, kids) : null,
        ]);
      });
  tree.replaceChildren(...branch('', 1));
  if (!nodes.length) tree.append(el('li', { role: 'treeitem', 'aria-level': 1, text: '(項目がありません)' }));
}

const field = <T extends HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(id: string) => $(id) as T;

function select(id: string | null): void {
  selected = id;
  const n = nodes.find((x) => x.id === id);
  $('faq-fields')!.hidden = !n;
  $('faq-none')!.hidden = !!n;
  renderTree();
  if (!n) return;
  field<HTMLInputElement>('fn-id').value = n.id;
  field<HTMLSelectElement>('fn-kind').value = n.kind;
  field<HTMLInputElement>('fn-title').value = n.title;
  field<HTMLInputElement>('fn-keywords').value = n.keywords.join('、');
  field<HTMLTextAreaElement>('fn-answer').value = n.answer;
  field<HTMLInputElement>('fn-image').value = n.imageUrl;
  field<HTMLTextAreaElement>('fn-links').value = n.links.map((l) => `${l.label}|${l.url}`).join('\n');
  const goTo = field<HTMLSelectElement>('fn-goto');
  goTo.replaceChildren(
    el('option', { value: '', text: '(なし)' }),
    ...nodes
      .filter((x) => x.id !== n.id)
      .map((x) => el('option', { value: x.id, text: x.title, selected: x.id === n.goTo })),
  );
}

/** The form's values into the selected node (the id renamed in children and go-tos too). */
function readForm(): void {
  const n = nodes.find((x) => x.id === selected);
  if (!n) return;
  const id = field<HTMLInputElement>('fn-id').value.trim();
  if (id && id !== n.id) {
    for (const x of nodes) {
      if (x.parentId === n.id) x.parentId = id;
      if (x.goTo === n.id) x.goTo = id;
    }
    n.id = id;
    selected = id;
  }
  n.kind = field<HTMLSelectElement>('fn-kind').value as FaqNode['kind'];
  n.title = field<HTMLInputElement>('fn-title').value;
  n.keywords = field<HTMLInputElement>('fn-keywords')
    .value.split(/[、,]/)
    .map((k) => k.trim())
    .filter(Boolean);
  n.answer = field<HTMLTextAreaElement>('fn-answer').value;
  n.imageUrl = field<HTMLInputElement>('fn-image').value.trim();
  n.links = field<HTMLTextAreaElement>('fn-links')
    .value.split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const at = l.lastIndexOf('|');
      return at < 0 ? { label: '', url: l } : { label: l.slice(0, at).trim(), url: l.slice(at + 1).trim() };
    });
  n.goTo = field<HTMLSelectElement>('fn-goto').value;
}

function move(delta: number): void {
  const n = nodes.find((x) => x.id === selected);
  if (!n) return;
  const siblings = nodes.filter((x) => x.parentId === n.parentId);
  const to = siblings[siblings.indexOf(n) + delta];
  if (!to) return;
  const a = nodes.indexOf(n);
  const b = nodes.indexOf(to);
  nodes[a] = to;
  nodes[b] = n;
  renderTree();
}

function setUpEditor(editor: HTMLElement): void {
  renderTree();
  const form = $('faq-node-form')!;
  form.addEventListener('input', () => {
    readForm();
    renderTree();
  });
  form.addEventListener('change', () => {
    readForm();
    renderTree();
  });
  $('faq-add-top')?.addEventListener('click', () => {
    const n = blank('', 'category');
    nodes.push(n);
    select(n.id);
    field<HTMLInputElement>('fn-title').focus();
  });
  $('fn-child')?.addEventListener('click', () => {
    if (!selected) return;
    const n = blank(selected, 'question');
    nodes.push(n);
    select(n.id);
    field<HTMLInputElement>('fn-title').focus();
  });
  $('fn-up')?.addEventListener('click', () => move(-1));
  $('fn-down')?.addEventListener('click', () => move(1));
  $('fn-delete')?.addEventListener('click', () => {
    if (!selected) return;
    // the node and everything under it
    const gone = new Set([selected]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const x of nodes)
        if (gone.has(x.parentId) && !gone.has(x.id)) {
          gone.add(x.id);
          grew = true;
        }
    }
    for (let i = nodes.length - 1; i >= 0; i--) if (gone.has(nodes[i]!.id)) nodes.splice(i, 1);
    select(null);
  });
  $('faq-save')?.addEventListener('click', async () => {
    const status = $('faq-save-status')!;
    const r = await api('PUT', editor.dataset.url ?? '', { nodes });
    say(
      status,
      r.ok ? '下書きを保存しました。住民に見せるには「下書きを公開する」を押してください。' : errorText(r),
      !r.ok,
    );
  });
}

const editor = $('faq-editor');
if (editor) setUpEditor(editor);

const publish = $<HTMLFormElement>('faq-publish');
publish?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const status = $('faq-publish-status')!;
  const r = await api<{ number: number }>('POST', publish.dataset.url ?? '', {
    note: field<HTMLInputElement>('faq-note').value,
  });
  if (!r.ok) return say(status, errorText(r), true);
  say(status, `第 ${r.body.number} 版を公開しました`);
  location.reload();
});

const versions = document.querySelector<HTMLElement>('[data-rollback-url]');
versions?.addEventListener('click', async (e) => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('[data-rollback]');
  if (!b) return;
  const status = $('faq-publish-status')!;
  const r = await api('POST', versions.dataset.rollbackUrl ?? '', { number: Number(b.dataset.rollback) });
  if (!r.ok) return say(status, errorText(r), true);
  say(status, `第 ${b.dataset.rollback} 版に戻しました`);
  location.reload();
});

const importForm = $<HTMLFormElement>('faq-import');
if (importForm) {
  let file = '';
  const status = $('faq-import-status')!;
  const confirm = $<HTMLButtonElement>('faq-import-confirm')!;
  const errors = $('faq-import-errors')!;
  type Checked = {
    nodes: number;
    categories: number;
    questions: number;
    errors: Array<{ row: number; message: string }>;
  };
  const send = async (yes: boolean) => {
    const r = await api<Checked>('POST', importForm.dataset.url ?? '', { file, confirm: yes });
    const list = r.body.errors ?? (r.body.error?.details as unknown as { errors?: Checked['errors'] })?.errors ?? [];
    errors.hidden = !list.length;
    errors
      .querySelector('tbody')!
      .replaceChildren(
        ...list.map((x) =>
          el('tr', {}, [el('th', { scope: 'row', text: `${x.row} 行目` }), el('td', { text: x.message })]),
        ),
      );
    return r;
  };
  importForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    confirm.disabled = true;
    const f = field<HTMLInputElement>('faq-file').files?.[0];
    if (!f) return say(status, 'ファイルを選んでください', true);
    const bytes = new Uint8Array(await f.arrayBuffer());
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    file = btoa(bin);
    const r = await send(false);
    if (!r.ok) return say(status, errorText(r), true);
    if (r.body.errors.length)
      return say(status, `${r.body.errors.length} 件の誤りがあります。修正してからもう一度選んでください。`, true);
    confirm.disabled = false;
    say(
      status,
      `カテゴリ ${r.body.categories} 件・質問 ${r.body.questions} 件を読み込めます。「下書きに取り込む」で確定します。`,
    );
  });
  confirm.addEventListener('click', async () => {
    const r = await send(true);
    if (!r.ok) return say(status, errorText(r), true);
    say(status, `下書きに取り込みました (${r.body.nodes} 項目)。`);
    location.reload();
  });
}

const settingsForm = $<HTMLFormElement>('faq-settings');
if (settingsForm) {
  const s = d.settings;
  field<HTMLInputElement>('fs-typed').checked = s.acceptTyped;
  field<HTMLInputElement>('fs-ai').value = s.aiEndpoint;
  field<HTMLInputElement>('fs-timeout').value = String(s.aiTimeoutMs);
  field<HTMLInputElement>('fs-keep').checked = s.keepUnmatched;
  field<HTMLInputElement>('fs-days').value = String(s.retentionDays);
  field<HTMLInputElement>('fs-contact').value = s.contact;
  settingsForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api('PUT', settingsForm.dataset.url ?? '', {
      acceptTyped: field<HTMLInputElement>('fs-typed').checked,
      aiEndpoint: field<HTMLInputElement>('fs-ai').value,
      aiTimeoutMs: Number(field<HTMLInputElement>('fs-timeout').value),
      keepUnmatched: field<HTMLInputElement>('fs-keep').checked,
      retentionDays: Number(field<HTMLInputElement>('fs-days').value),
      contact: field<HTMLInputElement>('fs-contact').value,
    });
    say($('faq-settings-status')!, r.ok ? '設定を保存しました' : errorText(r), !r.ok);
  });
}
