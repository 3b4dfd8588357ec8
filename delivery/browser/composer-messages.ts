/**
 * The composer's message editors: up to 5 messages (text / sticker / image / video / Flex), each a
 * fieldset with its type, its fields (labelled, with hints, counters and error slots that the kit's
 * showErrors finds through aria-describedby) and ↑ 上へ / ↓ 下へ / 削除.
 */
import { el } from '../../core/browser/kit.ts';
import { nextId, nf } from './page.ts';
import type { StoredMessage } from './types.ts';

export type MessageType = StoredMessage['type'];

/** A message as the person edits it: every field of every type, as text. */
export interface MessageDraft {
  type: MessageType;
  text: string;
  packageId: string;
  stickerId: string;
  originalContentUrl: string;
  previewImageUrl: string;
  trackingId: string;
  altText: string;
  contents: string;
}

export const MAX_MESSAGES = 5;
const MAX_TEXT = 5000;
const MAX_ALT_TEXT = 1500;
const TYPE_LABELS: Record<MessageType, string> = {
  text: 'テキスト',
  sticker: 'スタンプ',
  image: '画像',
  video: '動画',
  flex: 'Flex メッセージ',
};

export const newMessage = (): MessageDraft => ({
  type: 'text',
  text: '',
  packageId: '',
  stickerId: '',
  originalContentUrl: '',
  previewImageUrl: '',
  trackingId: '',
  altText: '',
  contents: '',
});

const isBlank = (m: MessageDraft) =>
  !m.text &&
  !m.packageId &&
  !m.stickerId &&
  !m.originalContentUrl &&
  !m.previewImageUrl &&
  !m.trackingId &&
  !m.altText &&
  !m.contents;

/** A stored message back in the editor: tracked links ({{link:N}}) put back into the text. */
export function draftOf(m: StoredMessage, links: readonly string[]): MessageDraft {
  const x = newMessage();
  x.type = m.type;
  if (m.type === 'text') x.text = String(m.text).replace(/\{\{link:(\d+)\}\}/g, (_, n) => links[Number(n)] ?? '');
  if (m.type === 'sticker') {
    x.packageId = m.packageId;
    x.stickerId = m.stickerId;
  }
  if (m.type === 'image' || m.type === 'video') {
    x.originalContentUrl = m.originalContentUrl;
    x.previewImageUrl = m.previewImageUrl;
    x.trackingId = (m.type === 'video' && m.trackingId) || '';
  }
  if (m.type === 'flex') {
    x.altText = m.altText;
    x.contents = JSON.stringify(m.contents, null, 2);
  }
  return x;
}

interface FieldOptions {
  tag?: 'input' | 'textarea';
  path: string;
  label: string;
  value: string;
  wide?: boolean;
  counter?: boolean;
  hint?: string;
  attrs?: Record<string, string | number>;
  onInput: (value: string) => void;
}

/** A labelled control with its error slot (the kit's showErrors finds it through aria-describedby). */
function field(opts: FieldOptions): { control: HTMLInputElement | HTMLTextAreaElement; node: HTMLElement } {
  const id = nextId('f');
  const describedBy = [opts.counter ? `${id}-count` : '', opts.hint ? `${id}-hint` : '', `${id}-err`]
    .filter(Boolean)
    .join(' ');
  const control = el(opts.tag ?? 'input', {
    id,
    'data-field': opts.path,
    'aria-describedby': describedBy,
    ...opts.attrs,
  });
  control.value = opts.value;
  control.addEventListener('input', () => opts.onInput(control.value));
  return {
    control,
    node: el('div', { class: `field${opts.wide ? ' wide' : ''}` }, [
      el('label', { for: id, text: opts.label }),
      control,
      opts.counter ? el('p', { class: 'counter', id: `${id}-count` }) : null,
      opts.hint ? el('p', { class: 'hint', id: `${id}-hint`, text: opts.hint }) : null,
      el('p', { class: 'field-error', id: `${id}-err`, hidden: true }),
    ]),
  };
}

/** A field with a character counter under it (`over` once at the limit when `warn`). */
function counted(opts: FieldOptions & { max: number; warn?: boolean }): HTMLElement {
  const counter = (v: string) => {
    const c = node.querySelector<HTMLElement>('.counter')!;
    c.textContent = `${nf(v.length)} / ${nf(opts.max)} 文字`;
    if (opts.warn) c.classList.toggle('over', v.length >= opts.max);
  };
  const { node } = field({
    ...opts,
    counter: true,
    onInput: (v) => {
      opts.onInput(v);
      counter(v);
    },
  });
  counter(opts.value);
  return node;
}

const URL_ATTRS = { type: 'url', inputmode: 'url', placeholder: 'https://' };

/** The fields of one message, by its type. */
function fieldsOf(m: MessageDraft, path: string, n: number): HTMLElement[] {
  const name = `メッセージ ${n} の`;
  const text = (key: keyof Omit<MessageDraft, 'type'>, o: Omit<FieldOptions, 'path' | 'value' | 'onInput'>) =>
    field({
      ...o,
      path: `${path}.${key}`,
      value: m[key],
      onInput: (v) => {
        m[key] = v;
      },
    }).node;
  if (m.type === 'text')
    return [
      counted({
        tag: 'textarea',
        path: `${path}.text`,
        label: `${name}本文`,
        value: m.text,
        wide: true,
        max: MAX_TEXT,
        warn: true,
        attrs: { name: 'text', rows: 5, maxlength: MAX_TEXT },
        hint: '5,000 文字まで。URL を書くとリンクになります (クリック計測の対象)。',
        onInput: (v) => {
          m.text = v;
        },
      }),
    ];
  if (m.type === 'sticker')
    return [
      text('packageId', {
        label: `${name}パッケージ ID`,
        attrs: { inputmode: 'numeric', autocomplete: 'off' },
        hint: 'LINE の「送信できるスタンプ」一覧の番号 (例: 446)',
      }),
      text('stickerId', {
        label: `${name}スタンプ ID`,
        attrs: { inputmode: 'numeric', autocomplete: 'off' },
        hint: '例: 1988',
      }),
    ];
  if (m.type === 'video')
    return [
      text('originalContentUrl', {
        label: `${name}動画 URL`,
        wide: true,
        attrs: URL_ATTRS,
        hint: 'https:// で始まる MP4 (200MB まで)',
      }),
      text('previewImageUrl', {
        label: `${name}プレビュー画像 URL`,
        wide: true,
        attrs: URL_ATTRS,
        hint: '再生前に表示される画像 (JPEG・PNG、1MB まで)',
      }),
      text('trackingId', {
        label: `${name}トラッキング ID (任意)`,
        attrs: { autocomplete: 'off' },
        hint: '最後まで視聴されたことを知らせてもらうときに付けます (半角英数記号 100 文字まで)',
      }),
    ];
  if (m.type === 'flex')
    return [
      counted({
        path: `${path}.altText`,
        label: `${name}代替テキスト`,
        value: m.altText,
        wide: true,
        max: MAX_ALT_TEXT,
        attrs: { maxlength: MAX_ALT_TEXT },
        hint: '通知やトーク一覧に表示される文 (1,500 文字まで)',
        onInput: (v) => {
          m.altText = v;
        },
      }),
      field({
        tag: 'textarea',
        path: `${path}.contents`,
        label: `${name}内容 (Flex の JSON)`,
        value: m.contents,
        wide: true,
        attrs: { rows: 10, spellcheck: 'false', class: 'code' },
        hint: 'LINE の Flex Message Simulator で作った bubble か carousel の JSON を貼り付けます。',
        onInput: (v) => {
          m.contents = v;
        },
      }).node,
    ];
  return [
    text('originalContentUrl', {
      label: `${name}画像 URL`,
      wide: true,
      attrs: URL_ATTRS,
      hint: 'https:// で始まる JPEG・PNG (10MB まで)',
    }),
    text('previewImageUrl', {
      label: `${name}プレビュー画像 URL`,
      wide: true,
      attrs: URL_ATTRS,
      hint: 'トーク画面に小さく出る画像 (1MB まで)',
    }),
  ];
}

/** The editors in `list`, with 「＋ メッセージを追加」 (`addButton`) and the room left said in `room`. */
export class MessageEditor {
  messages: MessageDraft[] = [newMessage()];
  /** Flex contents that are not JSON, by field path: their message replaces the API's (which only sees no contents). */
  #localErrors = new Map<string, string>();

  readonly #list: HTMLElement;
  readonly #addButton: HTMLButtonElement;
  readonly #room: HTMLElement;

  constructor(list: HTMLElement, addButton: HTMLButtonElement, room: HTMLElement) {
    this.#list = list;
    this.#addButton = addButton;
    this.#room = room;
    addButton.addEventListener('click', () => {
      if (this.messages.length >= MAX_MESSAGES) return;
      this.messages.push(newMessage());
      this.render();
      this.focusIn(this.messages.length - 1, 'textarea, select');
    });
  }

  /** Starts again from one empty message, or from the given ones. */
  set(messages: MessageDraft[] = []): void {
    this.messages = messages.length ? messages : [newMessage()];
    this.render();
  }

  render(): void {
    const list = this.#list;
    const messages = this.messages;
    list.textContent = '';
    messages.forEach((m, i) => {
      const n = i + 1;
      const path = `messages.${i}`;
      const typeId = nextId('type');
      const typeSelect = el(
        'select',
        { id: typeId, 'data-field': `${path}.type` },
        (Object.keys(TYPE_LABELS) as MessageType[]).map((t) =>
          el('option', { value: t, text: TYPE_LABELS[t], selected: m.type === t }),
        ),
      );
      typeSelect.addEventListener('change', () => {
        m.type = typeSelect.value as MessageType;
        this.render();
        this.focusIn(i, `[data-field="${path}.type"]`);
      });
      const move = (to: number | null, label: string, disabled: boolean, key: string) =>
        el('button', {
          type: 'button',
          class: 'secondary small',
          text: label,
          'aria-label': `メッセージ ${n} を${key}`,
          disabled,
          onclick: () => {
            const [x] = messages.splice(i, 1);
            if (to !== null) messages.splice(to, 0, x!);
            if (!messages.length) messages.push(newMessage());
            this.render();
            if (to !== null) this.focusIn(to, `button[aria-label$="${key}"]`);
            else list.querySelector('select')?.focus();
          },
        });
      list.appendChild(
        el('fieldset', { class: 'message', 'data-field': path }, [
          el('legend', { text: `メッセージ ${n}` }),
          el('p', { class: 'field-error', hidden: true }),
          el('div', { class: 'message-head' }, [
            el('label', { for: typeId, text: '種類 ' }),
            typeSelect,
            el('span', { class: 'spacer' }),
            move(i - 1, '↑ 上へ', i === 0, '上へ移動'),
            move(i + 1, '↓ 下へ', i === messages.length - 1, '下へ移動'),
            move(null, '削除', messages.length === 1 && isBlank(m), '削除'),
          ]),
          el('div', { class: 'form-grid' }, fieldsOf(m, path, n)),
        ]),
      );
    });
    this.#addButton.disabled = messages.length >= MAX_MESSAGES;
    this.#room.textContent =
      messages.length >= MAX_MESSAGES
        ? 'メッセージは 5 件までです。'
        : `あと ${MAX_MESSAGES - messages.length} 件追加できます。`;
  }

  focusIn(i: number, selector: string): void {
    this.#list.children[i]?.querySelector<HTMLElement>(selector)?.focus();
  }

  /** The messages as the API takes them; Flex contents that are not JSON are noted for localError. */
  payload(): StoredMessage[] {
    this.#localErrors.clear();
    return this.messages.map((m, i) => {
      if (m.type === 'sticker')
        return { type: 'sticker', packageId: m.packageId.trim(), stickerId: m.stickerId.trim() };
      if (m.type === 'image')
        return {
          type: 'image',
          originalContentUrl: m.originalContentUrl.trim(),
          previewImageUrl: m.previewImageUrl.trim(),
        };
      if (m.type === 'video') {
        const v: StoredMessage = {
          type: 'video',
          originalContentUrl: m.originalContentUrl.trim(),
          previewImageUrl: m.previewImageUrl.trim(),
        };
        if (m.trackingId.trim()) v.trackingId = m.trackingId.trim();
        return v;
      }
      if (m.type === 'flex') {
        let contents: unknown = null;
        if (m.contents.trim()) {
          try {
            contents = JSON.parse(m.contents);
          } catch (e) {
            this.#localErrors.set(`messages.${i}.contents`, `JSON として読めません (${(e as Error).message})`);
          }
        }
        return { type: 'flex', altText: m.altText, contents };
      }
      return { type: 'text', text: m.text };
    });
  }

  /** This page's own message for a field the last payload could not fill (the API only sees it missing). */
  localError(path: string): string | undefined {
    return this.#localErrors.get(path);
  }
}
