/**
 * A municipality's deliveries with live progress (#live-deliveries, on 配信 and on the 市町 page):
 * progress, LINE's open rate and clicks, クリック内訳, 内容 (what it said, as the talk screen shows it,
 * and how it was sent), and with the deliver permission 編集 (a draft, in the composer), 複製 (any
 * delivery, as a new one in the composer), 送信, 日時を変更 and 予約取り消し; さらに表示 for older ones;
 * refreshed while any is sending, and when the composer saves one (DELIVERIES_CHANGED).
 */
import { api, dateTime, el, errorText, vocabulary } from '../../core/browser/kit.ts';
import type { Category, DeliveryClicks, DeliveryPreview, DeliveryStatus, ListedDelivery } from './types.ts';
import { copyDelivery, DELIVERIES_CHANGED, editDelivery, showPreview } from './page.ts';

const STATUS: Record<DeliveryStatus, string> = {
  draft: '下書き',
  scheduled: '予約済み',
  queued: '送信待ち',
  sending: '送信中',
  done: '送信済み',
  failed: '失敗',
  cancelled: '取り消し',
};
const HIDDEN = 'LINE の統計がまだ届いていないか、20 人未満のため公開されていません';
const count = (n: number) => n.toLocaleString('ja-JP');
/** How far back the list reads to show a linked delivery (#delivery-<id>). */
const LINKED_MAX = 2500;

const live = document.getElementById('live-deliveries');
if (live) start(live);

function start(live: HTMLElement): void {
  const base = `/api/v1/tenants/${encodeURIComponent(live.dataset.tenant ?? '')}`;
  const canDeliver = live.hasAttribute('data-can-deliver');
  let limit = 20;
  let calls = 0;
  let refresh: ReturnType<typeof setTimeout> | undefined;
  /** Area names by id, for a breakdown by お住まい (loaded with the first breakdown). */
  let areaNames: Map<string, string> | null = null;

  const load = async (): Promise<void> => {
    const mine = ++calls;
    const r = await api<{ deliveries?: ListedDelivery[] }>('GET', `${base}/deliveries?limit=${limit}`);
    if (mine !== calls) return; // a later load draws
    if (r.status === 404) {
      live.textContent = 'この環境では配信機能が有効になっていません。';
      return;
    }
    if (!r.ok || !Array.isArray(r.body.deliveries)) {
      live.textContent =
        r.ok || r.status === 0
          ? '配信一覧を読み込めませんでした。'
          : `配信一覧を読み込めませんでした (HTTP ${r.status})。`;
      return;
    }
    draw(r.body.deliveries);
  };

  const draw = (list: ListedDelivery[]): void => {
    live.textContent = '';
    if (!list.length) {
      live.appendChild(el('p', { class: 'note', text: 'まだ配信はありません。' }));
      return;
    }
    const heads = ['日時', '件名', '対象', '状態', '送信済み / 対象', '失敗', '開封率', 'クリック'];
    const tbody = el('tbody');
    const table = el('table', {}, [
      el('thead', {}, [
        el(
          'tr',
          {},
          [...heads, ...(canDeliver ? [''] : [])].map((h) => el('th', { text: h })),
        ),
      ]),
      tbody,
    ]);
    let active = false;
    for (const d of list) {
      tbody.appendChild(row(d));
      if (d.status === 'queued' || d.status === 'sending') active = true;
    }
    live.appendChild(el('div', { class: 'scroll' }, [table]));
    if (showLinked(list.length >= limit)) return;
    if (list.length >= limit) {
      // older deliveries, 20 more at a time (all of them: 配信一覧 (CSV))
      const more = el('button', {
        type: 'button',
        id: 'more-deliveries',
        class: 'secondary',
        text: 'さらに表示 (次の 20 件)',
        onclick: () => {
          limit += 20;
          void load();
        },
      });
      live.appendChild(el('p', {}, [more]));
    }
    // refreshed while something is sending, but not under a form or a breakdown someone has open
    // (one timer at a time: a reload the composer asks for replaces the pending one)
    clearTimeout(refresh);
    if (active) {
      const again = () => {
        if (live.querySelector('form.reschedule, tr.breakdown')) refresh = setTimeout(again, 3000);
        else void load();
      };
      refresh = setTimeout(again, 3000);
    }
  };

  /**
   * A link to one delivery (#delivery-<id>, e.g. from 分析) shows its row once the list is drawn,
   * reading older deliveries until it is there (up to LINKED_MAX); true while a longer list is read.
   */
  let linkedShown = false;
  const showLinked = (more: boolean): boolean => {
    if (linkedShown || !location.hash.startsWith('#delivery-')) return false;
    const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target) {
      linkedShown = true;
      target.classList.add('linked');
      target.scrollIntoView({ block: 'center' });
      return false;
    }
    if (!more || limit >= LINKED_MAX) {
      linkedShown = true;
      return false;
    }
    limit = Math.min(LINKED_MAX, limit * 5);
    void load();
    return true;
  };

  const row = (d: ListedDelivery): HTMLTableRowElement => {
    const tr = el('tr', { id: `delivery-${d.id}` });
    const bar = el('progress');
    bar.max = Math.max(1, d.targets);
    bar.value = d.accepted;
    // LINE's figures, once ingest has fetched them (null: not yet, or fewer than 20 people)
    const sent = d.status === 'done' || d.status === 'failed';
    const reached = d.delivered ?? d.accepted;
    const opened = d.uniqueImpressions !== null && reached > 0 ? d.uniqueImpressions : null;
    const open = el('td', {
      class: 'num',
      text: !sent ? '' : opened !== null ? `${((opened / reached) * 100).toFixed(1)}%` : '—',
      title: !sent ? null : opened !== null ? `開封した人 ${count(opened)} 人 / 届いた人 ${count(reached)} 人` : HIDDEN,
    });
    const clicks = el('td', {
      class: 'num',
      text: !sent ? '' : d.clicks !== null ? count(d.clicks) : '—',
      title: sent && d.clicks === null ? HIDDEN : null,
    });
    if (sent) {
      // Tayori's own count of tracked links, per attribute group (what LINE's statistics cannot show)
      const more: HTMLButtonElement = el('button', {
        type: 'button',
        class: 'link-button',
        text: '内訳',
        'aria-label': `「${d.title}」のクリック内訳`,
        'aria-expanded': 'false',
        onclick: () => void clickBreakdown(d, tr, more),
      });
      clicks.append(' ', more);
    }
    const contentButton: HTMLButtonElement = el('button', {
      type: 'button',
      class: 'link-button',
      text: '内容',
      'aria-label': `「${d.title}」の内容`,
      'aria-expanded': 'false',
      onclick: () => void content(d, tr, contentButton),
    });
    tr.append(
      el('td', { text: dateTime(new Date(d.scheduledAt ?? d.at).toISOString()) }),
      el('td', { class: 'wrap' }, [d.title, ' ', contentButton]),
      el('td', { class: 'wrap', text: d.audienceLabel }),
      el('td', { text: STATUS[d.status] ?? d.status }),
      el('td', { class: 'num' }, [bar, ` ${count(d.accepted)} / ${count(d.targets)}`, ...skippedNote(d)]),
      el('td', { class: 'num', text: count(d.failed) }),
      open,
      clicks,
    );
    if (canDeliver) tr.appendChild(actions(d));
    return tr;
  };

  /** 対象外 N人: residents the delivery named who were not friends when it was sent (only when there were some). */
  const skippedNote = (d: ListedDelivery): HTMLElement[] =>
    d.skipped > 0
      ? [
          el('br'),
          el('span', {
            class: 'note skipped',
            text: `対象外 ${count(d.skipped)}人`,
            title: '指定した住民のうち、送信時に友だちでなかった (ブロック中を含む) ため送らなかった人数',
          }),
        ]
      : [];

  const actions = (d: ListedDelivery): HTMLTableCellElement => {
    const cell = el('td', { class: 'row-actions' });
    const act = (label: string, verb: string, confirmText: string) =>
      cell.appendChild(
        el('button', {
          type: 'button',
          text: label,
          onclick: async () => {
            if (!window.confirm(confirmText)) return;
            const r = await api('POST', `${base}/deliveries/${encodeURIComponent(d.id)}/${verb}`, {});
            if (!r.ok) window.alert(errorText(r));
            void load();
          },
        }),
      );
    // 編集 opens a draft in the composer, when this page has one
    const composer = document.getElementById('composer');
    if (d.status === 'draft' && composer)
      cell.appendChild(
        el('button', {
          type: 'button',
          text: '編集',
          'aria-label': `「${d.title}」を編集`,
          onclick: () => {
            editDelivery(d.id);
            composer.scrollIntoView({ block: 'start' });
          },
        }),
      );
    // 複製 opens a delivery in the composer as a new one (the original stays as it is); residents named
    // one by one (the API's and the cards' pushes) are not an audience the composer offers
    if (composer && d.audienceType !== 'users')
      cell.appendChild(
        el('button', {
          type: 'button',
          class: 'secondary',
          text: '複製',
          'aria-label': `「${d.title}」を複製して新しい配信を作る`,
          onclick: () => {
            copyDelivery(d.id);
            composer.scrollIntoView({ block: 'start' });
          },
        }),
      );
    if (d.status === 'draft')
      act('送信', 'send', `「${d.title}」を ${d.audienceLabel} に今すぐ送ります。よろしいですか?`);
    if (d.status === 'scheduled') {
      reschedule(d, cell);
      act('予約取り消し', 'cancel', `「${d.title}」の予約を取り消します。よろしいですか?`);
    }
    return cell;
  };

  /** A click bucket in words: 女性, 1970年代生まれ, an area's name, 未回答, or すべて (no split). */
  const bucketText = (by: string, bucket: string): string => {
    if (bucket === '') return 'すべて';
    if (bucket === 'unknown') return '未回答';
    if (by === 'gender') return vocabulary.genders.find((g) => g.id === bucket)?.label ?? bucket;
    if (by === 'age') return `${bucket}年代生まれ`;
    if (by === 'residence') return areaNames?.get(bucket) ?? bucket;
    return bucket;
  };

  /**
   * A row under a delivery's, opened or closed by its button: closed (undefined) when it was open, else
   * its one cell, 読み込み中… until the caller fills it.
   */
  const toggleRow = (
    tr: HTMLTableRowElement,
    button: HTMLButtonElement,
    id: string,
    className: string,
  ): HTMLTableCellElement | undefined => {
    const shown = document.getElementById(id);
    button.setAttribute('aria-expanded', shown ? 'false' : 'true');
    if (shown) {
      shown.remove();
      return undefined;
    }
    const cell = el('td', { text: '読み込み中…' });
    cell.colSpan = tr.children.length;
    tr.after(el('tr', { class: className, id }, [cell]));
    return cell;
  };

  /** クリック内訳: clicks per tracked link and attribute group, in a row under the delivery's (toggles). */
  const clickBreakdown = async (d: ListedDelivery, tr: HTMLTableRowElement, button: HTMLButtonElement) => {
    const cell = toggleRow(tr, button, `clicks-${d.id}`, 'breakdown');
    if (!cell) return;
    const [clicks, cats] = await Promise.all([
      api<DeliveryClicks>('GET', `${base}/deliveries/${encodeURIComponent(d.id)}/clicks`),
      areaNames ? null : api<{ categories?: Category[] }>('GET', `${base}/categories`),
    ]);
    if (cats?.ok)
      areaNames = new Map(
        (cats.body.categories ?? []).filter((c) => c.parentId === '@area').map((c) => [c.id, c.name]),
      );
    cell.textContent = '';
    const info = clicks.body;
    if (!clicks.ok || !Array.isArray(info.links) || !Array.isArray(info.clicks)) {
      cell.textContent = 'クリック内訳を読み込めませんでした。';
      return;
    }
    if (!info.links.length) {
      cell.textContent = 'この配信はクリック計測をしていません (本文に URL がないか、計測をオフにして送りました)。';
      return;
    }
    const by = info.clickBucket;
    const byLabel = by ? (vocabulary.clickDimensions[by] ?? by) : '';
    cell.append(
      el('p', {
        class: 'note',
        text: `Tayori のリンク (/r/…) で数えたクリック数${byLabel ? ` (${byLabel}別)` : ''}。同じ接続元から同じリンクを 1 分以内に何度押しても 1 回と数えます。`,
      }),
      el('table', {}, [
        el('thead', {}, [
          el(
            'tr',
            {},
            ['リンク', byLabel || '対象', 'クリック数'].map((x) => el('th', { text: x })),
          ),
        ]),
        el(
          'tbody',
          {},
          info.clicks.map((c) =>
            el('tr', {}, [
              el('td', { class: 'wrap', text: c.url }),
              el('td', { text: bucketText(by, c.bucket) }),
              el('td', { class: 'num', text: count(c.clicks) }),
            ]),
          ),
        ),
      ]),
    );
  };

  /** 内容: the delivery's messages as the residents' talk screen shows them, and how it was sent (toggles). */
  const content = async (d: ListedDelivery, tr: HTMLTableRowElement, button: HTMLButtonElement) => {
    const cell = toggleRow(tr, button, `content-${d.id}`, 'breakdown delivery-content');
    if (!cell) return;
    const preview = await api<DeliveryPreview>('GET', `${base}/deliveries/${encodeURIComponent(d.id)}/preview`);
    cell.textContent = '';
    if (!preview.ok || typeof preview.body.html !== 'string') {
      cell.textContent = `配信の内容を読み込めませんでした (${errorText(preview)})。`;
      return;
    }
    const r = preview.body;
    const phone = el('div', { class: 'phone', role: 'group', 'aria-label': `「${d.title}」の住民の LINE での見え方` });
    showPreview(phone, r.html);
    const facts: Array<[string, string]> = [
      ['配信対象', d.audienceLabel],
      ['送り方', r.sendMethod === 'multicast' ? 'マルチキャスト (500 人ずつ)' : '一斉配信 (broadcast)'],
      ['通知', r.notificationDisabled ? '通知なしで送る' : '通知あり'],
      ['クリック計測', r.trackedLinks ? `本文の URL ${r.trackedLinks} 件を計測` : 'なし'],
    ];
    cell.append(
      el(
        'dl',
        {},
        facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]),
      ),
      phone,
    );
  };

  /** 日時を変更: an inline date-time field for a scheduled delivery (Japan time), saved through /schedule. */
  const reschedule = (d: ListedDelivery, cell: HTMLElement): void => {
    const open = () => {
      const id = `when-${d.id}`;
      // the current time, as Japan time in the field's format
      const value = new Date((d.scheduledAt ?? d.at) + 9 * 3_600_000).toISOString().slice(0, 16);
      const input = el('input', { type: 'datetime-local', id, required: true });
      input.value = value;
      const msg = el('p', { class: 'field-error', role: 'alert', hidden: true });
      const form = el('form', { class: 'reschedule' });
      for (const x of [
        el('label', { for: id, class: 'sr', text: '新しい日時 (日本時間)' }),
        input,
        el('button', { type: 'submit', text: '保存' }),
        el('button', { type: 'button', class: 'secondary', text: 'やめる', onclick: () => void load() }),
        msg,
      ])
        form.append(x, ' ');
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const r = await api('POST', `${base}/deliveries/${encodeURIComponent(d.id)}/schedule`, {
          scheduledAt: input.value,
        });
        if (r.ok) {
          void load();
          return;
        }
        const details = r.body.error?.details;
        msg.textContent = details?.length ? details.map((x) => x.message).join(' ') : errorText(r);
        msg.hidden = false;
        if (r.status !== 0) input.focus();
      });
      cell.textContent = '';
      cell.appendChild(form);
      input.focus();
    };
    cell.appendChild(
      el('button', {
        type: 'button',
        text: '日時を変更',
        'aria-label': `「${d.title}」の予約日時を変更`,
        onclick: open,
      }),
    );
  };

  document.addEventListener(DELIVERIES_CHANGED, () => void load());
  void load();
}
