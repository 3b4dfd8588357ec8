/**
 * メールからの配信 (#mail-settings, drawn by delivery/mail/pages.ts): the recipient address and the
 * allowed senders, the rules (match → template → audience; urgent or a draft) and the mails
 * received, over the mail API with the session's CSRF token.
 */
import { api, dateTime, el, errorText } from '../../core/browser/kit.ts';
import { catalogOf, SegmentBuilder, segmentOf } from './composer-segment.ts';
import { nextId } from './page.ts';
import { change, section } from './settings-parts.ts';
import type { AttributeItem, Category, Condition } from './types.ts';

interface MatchPart {
  kind: 'text' | 'pattern';
  value: string;
}
interface Rule {
  ruleId: string;
  name: string;
  urgent: boolean;
  enabled: boolean;
  sort: number;
  match: { from?: MatchPart; subject?: MatchPart; body?: MatchPart };
  template: string;
  audience: { type: string; label?: string; condition?: Condition };
}
interface Mail {
  mailId: string;
  receivedAt: string;
  sender: string;
  subject: string;
  outcome: string;
  reason: string;
  ruleName: string;
  deliveryId: string;
  places: string[];
}
interface MailState {
  listening: boolean;
  address: string | null;
  enabled: boolean;
  allowedSenders: string[];
  rules: Rule[];
  mails: Mail[];
}

const OUTCOME: Record<string, string> = {
  sent: '配信しました',
  draft: '下書きを作成',
  parked: '保留 (配信しない)',
  rejected: '拒否 (差出人が許可されていない)',
  limited: '拒否 (送信が多すぎる)',
  failed: '失敗',
};
const REASON: Record<string, string> = {
  no_rule: '合うルールがありません',
  no_place: 'メールに登録済みの地区名がありません',
  unknown_sender: '許可されていない差出人です',
  too_many_mails: '1 時間あたりの上限を超えました',
};
const AUDIENCE: Record<string, string> = {
  all: 'すべての友だち',
  places: 'メールに書かれた地区の住民',
  test: 'テスト端末',
  segment: 'セグメント (属性で絞り込む)',
};
const FIELD: Record<string, string> = { from: '差出人', subject: '件名', body: '本文' };

const root = document.getElementById('mail-settings');
if (root) start(root);

function start(root: HTMLElement): void {
  const base = `/api/v1/tenants/${encodeURIComponent(root.dataset.tenant ?? '')}/mail`;
  const canEdit = root.hasAttribute('data-can-edit');
  const address = section(root, 'mail-address', '受信アドレスと差出人', '');
  const rules = section(
    root,
    'mail-rules',
    'ルール',
    '上から順に調べ、最初に合ったルールで配信します。ひな形では {{subject}} (件名)・{{body}} (署名や引用を除いた本文)・{{from}}・{{date}} が使えます。長い本文は LINE の上限で切り、全文のページへのリンクを付けます。',
  );
  const log = section(root, 'mail-log', '受信したメール', '本文は保存しません (配信した内容だけが残ります)。');

  const load = async (): Promise<void> => {
    const r = await api<MailState>('GET', base);
    for (const s of [address, rules, log]) s.box.replaceChildren();
    if (!r.ok) {
      address.status.textContent = errorText(r);
      return;
    }
    const st = r.body;
    drawAddress(st);
    drawRules(st);
    drawLog(st);
  };

  const drawAddress = (st: MailState) => {
    address.box.append(
      el('p', {}, [
        '受信アドレス: ',
        st.address
          ? el('code', { id: 'mail-address-value', text: st.address })
          : '(まだありません。保存すると作られます)',
      ]),
      el('p', {
        class: 'note',
        text: st.listening
          ? 'メールの受信 (SMTP) は動いています。'
          : 'この Tayori ではメールの受信 (SMTP) が止まっています (TAYORI_MAIL_INBOUND=on で起動します)。',
      }),
    );
    if (!canEdit) return;
    const enabled = el('input', { type: 'checkbox', id: nextId('mail-on'), checked: st.enabled });
    const senders = el('textarea', {
      id: nextId('senders'),
      rows: 3,
      cols: 50,
      placeholder: 'bousai@pref.example.jp\n@alert.example.jp',
      'data-role': 'senders',
    });
    senders.value = st.allowedSenders.join('\n');
    const form = el('form', {}, [
      el('label', { class: 'check' }, [enabled, ' メールからの配信を使う']),
      el('div', { class: 'field' }, [
        el('label', { for: senders.id, text: '許可する差出人 (1 行に 1 つ。@ドメイン でドメイン全体)' }),
        senders,
      ]),
      el('p', {}, [
        el('button', { type: 'submit', text: '保存' }),
        ' ',
        el('button', {
          type: 'button',
          class: 'secondary',
          text: 'アドレスを作り直す',
          onclick: () => {
            if (!window.confirm('今のアドレスは使えなくなります。よろしいですか?')) return;
            void change(address.status, 'POST', `${base}/address`, {}, '新しいアドレスにしました。', load);
          },
        }),
      ]),
    ]);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const list = senders.value
        .split('\n')
        .map((x) => x.trim())
        .filter(Boolean);
      void change(
        address.status,
        'PUT',
        `${base}/settings`,
        { enabled: enabled.checked, allowedSenders: list },
        '保存しました。',
        load,
      );
    });
    address.box.append(form);
  };

  const drawRules = (st: MailState) => {
    /** Fills the form below with a rule to change it (set once the form exists). */
    let edit: (r: Rule) => void = () => {};
    if (!st.rules.length) rules.box.append(el('p', { class: 'note', text: 'ルールはまだありません。' }));
    for (const r of st.rules) {
      const cond = (Object.keys(FIELD) as Array<keyof Rule['match']>)
        .filter((f) => r.match[f])
        .map(
          (f) =>
            `${FIELD[f]}が${r.match[f]!.kind === 'pattern' ? 'パターン' : ''}「${r.match[f]!.value}」${r.match[f]!.kind === 'pattern' ? 'に一致' : 'を含む'}`,
        )
        .join('、');
      rules.box.append(
        el('div', { class: 'item mail-rule' }, [
          el('h3', {
            text: `${r.name}${r.urgent ? ' (緊急: すぐに送信)' : ' (下書きを作成)'}${r.enabled ? '' : ' — 停止中'}`,
          }),
          el('p', { text: `条件: ${cond}` }),
          el('p', {
            text: `配信対象: ${AUDIENCE[r.audience.type] ?? r.audience.type}${r.audience.label ? ` (${r.audience.label})` : ''}`,
          }),
          el('pre', { class: 'mono', text: r.template }),
          canEdit
            ? el('p', {}, [
                el('button', {
                  type: 'button',
                  class: 'secondary small',
                  text: '編集',
                  'aria-label': `ルール「${r.name}」を編集`,
                  onclick: () => edit(r),
                }),
                ' ',
                el('button', {
                  type: 'button',
                  class: 'secondary small',
                  text: r.enabled ? '停止する' : '使う',
                  'aria-label': `ルール「${r.name}」を${r.enabled ? '停止する' : '使う'}`,
                  onclick: () => {
                    const { ruleId, ...input } = r;
                    void change(
                      rules.status,
                      'PUT',
                      `${base}/rules/${encodeURIComponent(ruleId)}`,
                      { ...input, enabled: !r.enabled },
                      `ルール「${r.name}」を${r.enabled ? '停止しました' : '使うようにしました'}。`,
                      load,
                    );
                  },
                }),
                ' ',
                el('button', {
                  type: 'button',
                  class: 'danger small',
                  text: '削除',
                  'aria-label': `ルール「${r.name}」を削除`,
                  onclick: () => {
                    if (!window.confirm(`ルール「${r.name}」を削除します。よろしいですか?`)) return;
                    void change(
                      rules.status,
                      'DELETE',
                      `${base}/rules/${encodeURIComponent(r.ruleId)}`,
                      undefined,
                      '削除しました。',
                      load,
                    );
                  },
                }),
              ])
            : null,
        ]),
      );
    }
    if (!canEdit) return;
    const name = el('input', { id: nextId('rule-name'), maxlength: 50, 'data-role': 'rule-name' });
    const part = (field: string) => {
      const kind = el('select', { id: nextId(`${field}-kind`), 'aria-label': `${FIELD[field]}の一致のしかた` }, [
        el('option', { value: 'text', text: 'を含む' }),
        el('option', { value: 'pattern', text: 'がパターン (正規表現) に一致' }),
      ]);
      const value = el('input', { id: nextId(`${field}-value`), maxlength: 200, 'data-role': `match-${field}` });
      return {
        set: (m: MatchPart | undefined) => {
          value.value = m?.value ?? '';
          kind.value = m?.kind ?? 'text';
        },
        row: el('div', { class: 'field' }, [
          el('label', { for: value.id, text: `${FIELD[field]} (空欄: 条件にしない)` }),
          value,
          ' ',
          kind,
        ]),
        get: (): MatchPart | undefined =>
          value.value.trim() ? { kind: kind.value as MatchPart['kind'], value: value.value.trim() } : undefined,
      };
    };
    const parts = { from: part('from'), subject: part('subject'), body: part('body') };
    const template = el('textarea', { id: nextId('template'), rows: 4, cols: 50, 'data-role': 'template' });
    template.value = '【{{subject}}】\n{{body}}';
    const audience = el(
      'select',
      { id: nextId('audience'), 'data-role': 'audience' },
      ['places', 'all', 'segment', 'test'].map((t) => el('option', { value: t, text: AUDIENCE[t] })),
    );
    // a segment: delivery's builder (the composer's), over the tenant's areas, tree and items
    const segmentBox = el('div', { id: 'mail-segment', class: 'sub' });
    segmentBox.hidden = true;
    const builder = new SegmentBuilder(segmentBox, () => {});
    const showSegment = async () => {
      segmentBox.hidden = audience.value !== 'segment';
      if (segmentBox.hidden) return;
      if (!builder.catalog) {
        const tenantBase = base.replace(/\/mail$/, '');
        const [cats, items] = await Promise.all([
          api<{ categories?: Category[] }>('GET', `${tenantBase}/categories`),
          api<{ items?: AttributeItem[] }>('GET', `${tenantBase}/attribute-items`),
        ]);
        builder.catalog = catalogOf(
          cats.ok ? (cats.body.categories ?? []) : [],
          items.ok ? (items.body.items ?? []) : [],
        );
      }
      builder.render();
    };
    audience.addEventListener('change', () => void showSegment());
    const urgent = el('input', { type: 'checkbox', 'data-role': 'urgent' });
    const heading = el('h3', { text: 'ルールを追加', id: 'mail-rule-form-h' });
    const submit = el('button', { type: 'submit', text: 'ルールを追加' });
    let editing: Rule | undefined;
    edit = (r) => {
      editing = r;
      name.value = r.name;
      parts.from.set(r.match.from);
      parts.subject.set(r.match.subject);
      parts.body.set(r.match.body);
      template.value = r.template;
      audience.value = r.audience.type;
      const seg = r.audience.condition ? segmentOf(r.audience.condition) : null;
      if (seg) builder.segment = seg;
      void showSegment();
      urgent.checked = r.urgent;
      heading.textContent = `ルール「${r.name}」を編集`;
      submit.textContent = 'ルールを保存';
      name.focus();
    };
    const form = el('form', { class: 'new-item', 'aria-labelledby': heading.id }, [
      heading,
      el('div', { class: 'field' }, [el('label', { for: name.id, text: 'ルール名' }), name]),
      parts.from.row,
      parts.subject.row,
      parts.body.row,
      el('div', { class: 'field' }, [el('label', { for: template.id, text: 'メッセージのひな形' }), template]),
      el('div', { class: 'field' }, [el('label', { for: audience.id, text: '配信対象' }), audience]),
      segmentBox,
      el('label', { class: 'check' }, [urgent, ' 緊急 (承認を待たずにすぐ送る)']),
      el('p', {}, [submit]),
    ]);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const match = { from: parts.from.get(), subject: parts.subject.get(), body: parts.body.get() };
      const missing =
        audience.value === 'segment' ? builder.incomplete() || (builder.catalog ? '' : '属性を読み込み中です') : '';
      if (missing) {
        rules.status.textContent = missing;
        rules.status.classList.add('error-text');
        return;
      }
      const body = {
        name: name.value,
        urgent: urgent.checked,
        match,
        template: template.value,
        audience:
          audience.value === 'segment'
            ? { type: 'segment', condition: builder.condition(), label: builder.describe().slice(0, 100) }
            : { type: audience.value },
        ...(editing ? { enabled: editing.enabled, sort: editing.sort } : {}),
      };
      void change(
        rules.status,
        editing ? 'PUT' : 'POST',
        editing ? `${base}/rules/${encodeURIComponent(editing.ruleId)}` : `${base}/rules`,
        body,
        `ルール「${name.value.trim()}」を${editing ? '保存' : '追加'}しました。`,
        load,
      );
    });
    rules.box.append(form);
  };

  const drawLog = (st: MailState) => {
    if (!st.mails.length) {
      log.box.append(el('p', { class: 'note', text: 'まだメールを受信していません。' }));
      return;
    }
    log.box.append(
      el('table', { id: 'mail-log-table' }, [
        el('thead', {}, [
          el(
            'tr',
            {},
            ['受信日時', '差出人', '件名', '結果', 'ルール', '配信'].map((t) => el('th', { scope: 'col', text: t })),
          ),
        ]),
        el(
          'tbody',
          {},
          st.mails.map((m) =>
            el('tr', {}, [
              el('td', { text: dateTime(m.receivedAt) }),
              el('td', { text: m.sender }),
              el('td', { text: m.subject }),
              el('td', {
                text: `${OUTCOME[m.outcome] ?? m.outcome}${m.reason ? ` — ${REASON[m.reason] ?? m.reason}` : ''}${m.places.length ? ` (${m.places.join('・')})` : ''}`,
              }),
              el('td', { text: m.ruleName }),
              el('td', {}, [
                m.deliveryId
                  ? el('a', {
                      href: `/municipalities/${encodeURIComponent(root.dataset.tenant ?? '')}/deliveries`,
                      text: m.deliveryId,
                    })
                  : '',
              ]),
            ]),
          ),
        ),
      ]),
    );
  };

  void load();
}
