/**
 * Tayori 配信 composer (#composer, drawn by delivery/pages.ts): up to 5 messages (composer-messages.ts),
 * the audience (all friends, a segment built from residents' attributes (composer-segment.ts), or the
 * test devices) with a live count, 内容を確認 (delivery's validate, errors next to their fields),
 * プレビュー (a LINE-like chat), テスト送信, and 下書き保存 / すぐに送る / 予約; a draft reopened from the
 * delivery list (編集) is saved back to it. Everything goes through delivery's API with the session's
 * CSRF token (the kit's api).
 */
import {
  type ApiResult,
  api,
  clearErrors,
  el,
  errorText,
  say,
  showErrors as showFormErrors,
} from '../../core/browser/kit.ts';
import { draftOf, MessageEditor } from './composer-messages.ts';
import { catalogOf, SegmentBuilder, segmentOf } from './composer-segment.ts';
import { busy, COPY_DELIVERY, deliveriesChanged, EDIT_DELIVERY, nf, showPreview } from './page.ts';
import type { Audience, AttributeItem, Category, DeliveryRecord, TestDevice } from './types.ts';

declare global {
  interface Window {
    /** The audience the page would send, and opening a draft (for tests and the console). */
    tayoriComposer?: { audience: () => Audience; load: (id: string, copy?: boolean) => Promise<void> };
  }
}

type Send = 'draft' | 'now' | 'schedule';
const SEND_LABELS: Record<Send, string> = { draft: '下書き保存', now: 'すぐに送る', schedule: '予約する' };
const PREVIEW_HINT = '「プレビュー」を押すと、ここにトーク画面のように表示されます。';

const form = document.querySelector<HTMLFormElement>('form#composer');
if (form) start(form);

function start(form: HTMLFormElement): void {
  const base = `/api/v1/tenants/${encodeURIComponent(form.dataset.tenant ?? '')}`;
  const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.querySelector<T>(`#${id}`)!;
  const named = <T extends HTMLElement = HTMLInputElement>(selector: string) => form.querySelector<T>(selector)!;
  const title = named('input[name=title]');
  const notificationDisabled = named('input[name=notificationDisabled]');
  const trackClicks = named('input[name=trackClicks]');
  const clickBucket = named<HTMLSelectElement>('select[name=clickBucket]');
  const scheduledAt = named('input[name=scheduledAt]');
  const checked = (name: string) => named(`input[name=${name}]:checked`).value;
  /** The composer offers all friends, a segment or the test devices (a list of users is the API's). */
  const audienceType = () => checked('audienceType') as 'all' | 'segment' | 'test';
  const sendValue = () => checked('send') as Send;

  const result = byId('composer-result');
  const countOut = byId('audience-count');
  const builderBox = byId('segment-builder');
  const sendMethodBox = byId('send-method');
  const submitButton = byId<HTMLButtonElement>('submit-button');
  const bucketField = byId('bucket-field');
  const preview = byId('preview');

  const messages = new MessageEditor(
    byId('message-list'),
    byId<HTMLButtonElement>('add-message'),
    byId('message-room'),
  );
  let testDevices: number | null = null;

  // ------------------------------------------------------------------ audience and the live count
  // debounced, and only the latest answer is shown
  let countTimer: ReturnType<typeof setTimeout> | undefined;
  let countCalls = 0;
  let lastCount: number | null = null;
  const changed = () => {
    const summary = document.getElementById('segment-summary');
    if (summary) summary.textContent = builder.describe() || '(未設定)';
    lastCount = null;
    clearTimeout(countTimer);
    countTimer = setTimeout(() => void count(), 300);
  };
  const builder = new SegmentBuilder(builderBox, changed);

  const audience = (): Audience => {
    const type = audienceType();
    if (type !== 'segment') return { type };
    const label = builder.describe();
    return label
      ? { type: 'segment', condition: builder.condition(), label }
      : { type: 'segment', condition: builder.condition() };
  };

  const count = async (): Promise<number | null> => {
    const mine = ++countCalls;
    if (audienceType() === 'segment') {
      if (!builder.catalog) return null;
      const missing = builder.incomplete();
      if (missing) {
        countOut.setAttribute('data-count', '');
        say(countOut, `${missing}。`, true);
        return null;
      }
    }
    countOut.setAttribute('aria-busy', 'true');
    const r = await api<{ count: number }>('POST', `${base}/deliveries/count`, { audience: audience() });
    if (mine !== countCalls) return null;
    countOut.removeAttribute('aria-busy');
    if (!r.ok) {
      countOut.setAttribute('data-count', '');
      say(countOut, `人数を数えられませんでした: ${errorText(r)}`, true);
      return null;
    }
    lastCount = r.body.count;
    countOut.setAttribute('data-count', String(r.body.count));
    say(countOut, `この条件で届く人数: ${nf(r.body.count)} 人`);
    return r.body.count;
  };

  const audienceChanged = () => {
    const type = audienceType();
    sendMethodBox.hidden = type !== 'all';
    builderBox.hidden = type !== 'segment';
    if (type === 'segment') builder.render();
    changed();
  };
  for (const r of form.querySelectorAll<HTMLInputElement>('input[name=audienceType]'))
    r.addEventListener('change', audienceChanged);

  /** The attributes the builder offers, and how many test devices there are. */
  const loadCatalog = async () => {
    const [cats, items, devices] = await Promise.all([
      api<{ categories?: Category[] }>('GET', `${base}/categories`),
      api<{ items?: AttributeItem[] }>('GET', `${base}/attribute-items`),
      api<{ devices?: TestDevice[] }>('GET', `${base}/test-devices`),
    ]);
    if (devices.ok) {
      testDevices = (devices.body.devices ?? []).length;
      byId('test-device-count').textContent = `(${testDevices} 台)`;
    }
    builder.catalog = catalogOf(cats.ok ? (cats.body.categories ?? []) : [], items.ok ? (items.body.items ?? []) : []);
    if (!cats.ok || !items.ok)
      say(countOut, `属性の一覧を読み込めませんでした: ${errorText(cats.ok ? items : cats)}`, true);
  };

  // ------------------------------------------------------------------ options and sending
  const syncOptions = () => {
    submitButton.textContent = SEND_LABELS[sendValue()];
    bucketField.hidden = !trackClicks.checked;
  };
  form.addEventListener('change', (e) => {
    const target = e.target as HTMLInputElement;
    if (target.name === 'send' || target.name === 'trackClicks') syncOptions();
    if (target.name === 'scheduledAt' && target.value) {
      named('input[name=send][value=schedule]').checked = true;
      syncOptions();
    }
  });

  const payload = (send: Send) => {
    const a = audience();
    return {
      title: title.value,
      messages: messages.payload(),
      audience: a,
      notificationDisabled: notificationDisabled.checked,
      trackClicks: trackClicks.checked,
      send,
      ...(a.type === 'all' ? { sendMethod: checked('sendMethod') } : {}),
      ...(trackClicks.checked && clickBucket.value ? { clickBucket: clickBucket.value } : {}),
      ...(send === 'schedule' && scheduledAt.value ? { scheduledAt: scheduledAt.value } : {}),
    };
  };

  /** Shows the API's errors next to their fields; segment paths go to the audience box. */
  const showErrors = (r: Pick<ApiResult, 'status' | 'body'>) => {
    for (const d of r.body.error?.details ?? []) {
      if (/^audience\./.test(d.field ?? '')) d.field = 'audience';
      const local = messages.localError(d.field ?? '');
      if (local) d.message = local;
    }
    showFormErrors(form, r);
  };

  byId<HTMLButtonElement>('validate-button').addEventListener('click', async (e) => {
    const button = e.currentTarget as HTMLButtonElement;
    busy(button, true);
    say(result, '確認中…');
    const r = await api<{ messages: number }>('POST', `${base}/deliveries/validate`, payload(sendValue()));
    busy(button, false);
    if (r.ok) {
      clearErrors(form);
      say(result, `問題は見つかりませんでした (メッセージ ${r.body.messages} 件、LINE の検証も通過)。`);
    } else {
      showErrors(r);
      say(result, '直すところがあります。赤く表示された項目を確認してください。', true);
    }
  });

  byId<HTMLButtonElement>('preview-button').addEventListener('click', async (e) => {
    const button = e.currentTarget as HTMLButtonElement;
    busy(button, true);
    preview.setAttribute('aria-busy', 'true');
    const r = await api<{ html: string; notificationText: string }>('POST', `${base}/deliveries/preview`, {
      messages: messages.payload(),
    });
    busy(button, false);
    preview.removeAttribute('aria-busy');
    if (!r.ok) {
      showErrors(r);
      preview.textContent = '';
      preview.appendChild(el('p', { class: 'error', text: 'プレビューできません: 内容に誤りがあります。' }));
      return;
    }
    clearErrors(form);
    showPreview(preview, r.body.html);
    preview.prepend(el('div', { class: 'phone-bar', text: form.dataset.tenantName ?? '' }));
    preview.appendChild(
      el('p', { class: 'note notification' }, ['通知に表示される文: ', el('q', { text: r.body.notificationText })]),
    );
    say(result, 'プレビューを表示しました。');
  });

  byId<HTMLButtonElement>('test-send-button').addEventListener('click', async (e) => {
    const button = e.currentTarget as HTMLButtonElement;
    busy(button, true);
    say(result, 'テスト端末に送信中…');
    const r = await api('POST', `${base}/deliveries/test-send`, {
      title: title.value.trim() || 'テスト配信',
      messages: messages.payload(),
      notificationDisabled: notificationDisabled.checked,
    });
    if (!r.ok) {
      busy(button, false);
      if (Array.isArray(r.body.error?.details)) showErrors(r);
      say(result, `テスト送信できませんでした: ${errorText(r)}`, true);
      return;
    }
    clearErrors(form);
    deliveriesChanged();
    const d = await api<{ devices?: TestDevice[] }>('GET', `${base}/test-devices`);
    const n = d.ok ? (d.body.devices ?? []).length : testDevices;
    say(result, `テスト端末 ${nf(n ?? 0)} 台に送信しました (本番の配信には数えません)。`);
    busy(button, false);
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const send = sendValue();
    const go = async () => {
      busy(submitButton, true);
      say(result, '送信中…');
      const editingId = editing?.id;
      const r = editingId
        ? await api('PUT', `${base}/deliveries/${encodeURIComponent(editingId)}`, payload(send))
        : await api('POST', `${base}/deliveries`, payload(send));
      busy(submitButton, false);
      if (!r.ok) {
        showErrors(r);
        say(result, '保存できませんでした: 赤く表示された項目を確認してください。', true);
        return;
      }
      clearErrors(form);
      say(
        result,
        send === 'now'
          ? '送信を開始しました。'
          : send === 'schedule'
            ? '予約しました。'
            : editingId
              ? '下書きを更新しました。'
              : '下書きを保存しました。',
      );
      setEditing(null);
      title.value = '';
      messages.set();
      preview.textContent = '';
      preview.appendChild(el('p', { class: 'note', text: PREVIEW_HINT }));
      deliveriesChanged();
    };
    if (send !== 'now') return go();
    // すぐに送る: confirm with how many residents it reaches now
    clearTimeout(countTimer);
    const n = lastCount !== null ? lastCount : await count();
    const type = audienceType();
    const who =
      type === 'all'
        ? 'すべての友だち'
        : type === 'test'
          ? 'テスト端末'
          : `セグメント (${builder.describe() || '条件'})`;
    const text = `「${title.value || '(件名なし)'}」を ${who} に今すぐ送ります。\n届く人数: ${
      n === null ? '不明' : `${nf(n)} 人`
    }\n\nよろしいですか?`;
    if (window.confirm(text)) await go();
    else say(result, '送信を中止しました。');
  });

  // ------------------------------------------------------------------ reopening a draft
  /** The draft being changed (saved with PUT, same id). */
  let editing: { id: string; title: string } | null = null;
  const editNote = el('p', { class: 'editing-note', id: 'composer-editing', hidden: true });
  form.querySelector('.form-summary')!.after(editNote);
  const setEditing = (d: { id: string; title: string } | null) => {
    editing = d;
    editNote.textContent = '';
    editNote.hidden = !d;
    if (!d) return;
    editNote.append(
      `下書き「${d.title}」を編集しています。保存すると同じ下書きが更新されます。 `,
      el('button', {
        type: 'button',
        class: 'secondary small',
        text: '新しい配信にする',
        onclick: () => {
          setEditing(null);
          say(result, '新しい配信として作成します (元の下書きはそのまま残ります)。');
        },
      }),
    );
  };

  /**
   * Opens a draft in the composer: its contents, audience and options, saved back to it. With `copy`,
   * any delivery (sent, scheduled, cancelled …) becomes a new one: the same contents, audience and
   * options under 「(複製)」, saved as a new delivery; the original stays as it is.
   */
  const load = async (id: string, copy = false): Promise<void> => {
    const what = copy ? '配信' : '下書き';
    say(result, `${what}を読み込んでいます…`);
    const r = await api<DeliveryRecord>('GET', `${base}/deliveries/${encodeURIComponent(id)}`);
    if (!r.ok) {
      say(result, `${what}を開けませんでした: ${errorText(r)}`, true);
      return;
    }
    const d = r.body;
    if (!copy && d.status !== 'draft') {
      say(result, 'この配信は下書きではないため編集できません。', true);
      return;
    }
    const a: Audience = d.audience ?? { type: 'all' };
    const seg = a.type === 'segment' ? segmentOf(a.condition) : null;
    if (a.type === 'segment' && !seg) {
      say(result, `この${what}のセグメントは画面の条件組み立てでは表せません。API で変更してください。`, true);
      return;
    }
    if (a.type === 'users') {
      say(result, `この${what}の配信対象 (指定した住民) は画面では選べません。API で変更してください。`, true);
      return;
    }
    if (seg) builder.segment = seg;
    const links = d.links ?? [];
    title.value = copy ? `${d.title} (複製)`.slice(0, 100) : d.title;
    notificationDisabled.checked = !!d.notificationDisabled;
    trackClicks.checked = links.length > 0;
    clickBucket.value = d.clickBucket || '';
    named(`input[name=audienceType][value=${a.type}]`).checked = true;
    if (a.type === 'all') named(`input[name=sendMethod][value=${d.sendMethod || 'broadcast'}]`).checked = true;
    named('input[name=send][value=draft]').checked = true;
    clearErrors(form);
    messages.set((d.messages ?? []).map((m) => draftOf(m, links)));
    syncOptions();
    audienceChanged();
    setEditing(copy ? null : { id: d.id, title: d.title });
    say(
      result,
      copy
        ? `「${d.title}」を複製しました。内容を確かめて保存するか送ってください (元の配信はそのままです)。`
        : `下書き「${d.title}」を開きました。`,
    );
    title.focus();
  };
  document.addEventListener(EDIT_DELIVERY, (e) => void load((e as CustomEvent<{ id: string }>).detail.id));
  document.addEventListener(COPY_DELIVERY, (e) => void load((e as CustomEvent<{ id: string }>).detail.id, true));

  messages.render();
  syncOptions();
  audienceChanged();
  void loadCatalog().then(() => {
    if (audienceType() === 'segment') builder.render();
    changed();
  });
  window.tayoriComposer = { audience, load };
}
