/**
 * Tayori 配信設定 (#delivery-settings, drawn by delivery/pages.ts): what residents choose from when they
 * register inside LINE — the areas, the 関心のある分野 tree (大分類・中分類; the small level is the
 * areas), extra registration items and their options — plus the tenant's test devices and its rich
 * menu. Names change and things retire without losing residents' earlier answers (retired ones are no
 * longer offered; their answers stay). Every change goes through delivery's API with the session's
 * CSRF token (the kit's api).
 */
import { dateTime, el } from '../../core/browser/kit.ts';
import { nextId } from './page.ts';
import { addRow, bySort, change, nameRow, reload, reorder, section } from './settings-parts.ts';
import { qrPairing } from './test-device-qr.ts';
import type { AttributeItem, Category, RichMenu, TestDevice } from './types.ts';

const root = document.getElementById('delivery-settings');
if (root) start(root);

function start(root: HTMLElement): void {
  const base = `/api/v1/tenants/${encodeURIComponent(root.dataset.tenant ?? '')}`;
  const canEdit = root.hasAttribute('data-can-edit');
  const moved = (name: string, dir: number) => `「${name}」を${dir < 0 ? '上へ' : '下へ'}移しました。`;
  const retiredText = (retired: boolean) =>
    retired ? '廃止しました (登録済みの内容は残ります)。' : '使用に戻しました。';

  // ------------------------------------------------------------------ areas and the interest tree
  const areas = section(
    root,
    'areas',
    '地域',
    '住民が「お住まい」「知りたい地域」で選ぶ地域です。関心のある分野では、中分類の下の小分類になります。',
  );
  const tree = section(
    root,
    'interests',
    '関心のある分野',
    '大分類と中分類 (2 段) です。住民は中分類ごとに地域を選べます。名前を変えたり廃止したりしても、住民がこれまでに登録した内容は消えません。',
  );

  const loadCategories = (): Promise<void> =>
    reload<{ categories?: Category[] }>(`${base}/categories`, [areas, tree], '地域と分野', (body) => {
      const cats = body.categories ?? [];
      const catUrl = (c: Category) => `${base}/categories/${encodeURIComponent(c.id)}`;
      const patch = (status: HTMLElement, c: Category, fields: object, done: string) =>
        change(status, 'PATCH', catUrl(c), fields, done, loadCategories);
      const add = (status: HTMLElement, parentId: string, name: string, done: string) =>
        change(status, 'POST', `${base}/categories`, { parentId, name }, done, loadCategories);
      const row = (status: HTMLElement, c: Category, what: string, indent: boolean, siblings: Category[]) => {
        const i = siblings.indexOf(c);
        return nameRow({
          canEdit,
          name: c.name,
          retired: c.retired,
          what,
          indent,
          first: i === 0,
          last: i === siblings.length - 1,
          onMove: (dir) => void reorder(status, siblings, i, dir, catUrl, moved(c.name, dir), loadCategories),
          onSave: (name) => void patch(status, c, { name }, `「${name}」に変更しました。`),
          onToggle: (retired) => void patch(status, c, { retired }, `「${c.name}」を${retiredText(retired)}`),
        });
      };
      const children = (parentId: string) => cats.filter((c) => c.parentId === parentId).sort(bySort);

      const list = children('@area');
      if (!list.length) areas.box.appendChild(el('p', { class: 'note', text: 'まだ地域がありません。' }));
      for (const a of list) areas.box.appendChild(row(areas.status, a, `地域「${a.name}」`, false, list));
      const addArea = addRow(canEdit, '地域を追加', '例: 久居', (name) =>
        add(areas.status, '@area', name, `地域「${name.trim()}」を追加しました。`),
      );
      if (addArea) areas.box.appendChild(addArea);

      const larges = children('');
      for (const l of larges) {
        const group = el('div', { class: 'large' }, [row(tree.status, l, `大分類「${l.name}」`, false, larges)]);
        const middles = children(l.id);
        for (const m of middles)
          group.appendChild(row(tree.status, m, `中分類「${l.name} › ${m.name}」`, true, middles));
        const addMid = addRow(canEdit, `「${l.name}」に中分類を追加`, '例: 避難情報', (name) =>
          add(tree.status, l.id, name, `「${l.name} › ${name.trim()}」を追加しました。`),
        );
        if (addMid) {
          addMid.classList.add('indent');
          group.appendChild(addMid);
        }
        tree.box.appendChild(group);
      }
      const addLarge = addRow(canEdit, '大分類を追加', '例: 防災', (name) =>
        add(tree.status, '', name, `大分類「${name.trim()}」を追加しました。`),
      );
      if (addLarge) tree.box.appendChild(addLarge);
    });

  // ------------------------------------------------------------------ extra registration items
  const items = section(
    root,
    'items',
    '追加の登録項目',
    '性別・生まれ年などのほかに住民に尋ねる項目と、その選択肢です (選択肢は 12 個まで。クイックリプライで選びます)。',
  );

  const loadItems = (): Promise<void> =>
    reload<{ items?: AttributeItem[] }>(`${base}/attribute-items`, [items], '登録項目', (body) => {
      const list = (body.items ?? []).sort(bySort);
      if (!list.length) items.box.appendChild(el('p', { class: 'note', text: '追加の登録項目はまだありません。' }));
      const itemUrl = (x: AttributeItem) => `${base}/attribute-items/${encodeURIComponent(x.id)}`;
      const patch = (it: AttributeItem, body: object, done: string) =>
        change(items.status, 'PATCH', itemUrl(it), body, done, loadItems);
      list.forEach((it, i) => {
        const what = `項目「${it.label}」`;
        const box = el('div', { class: 'item' }, [
          nameRow({
            canEdit,
            name: it.label,
            retired: it.retired,
            what,
            first: i === 0,
            last: i === list.length - 1,
            onMove: (dir) => void reorder(items.status, list, i, dir, itemUrl, moved(it.label, dir), loadItems),
            onSave: (label) => void patch(it, { label }, `「${label}」に変更しました。`),
            onToggle: (retired) => void patch(it, { retired }, `${what}を${retiredText(retired)}`),
          }),
          el('p', { class: 'note indent', text: it.multiple ? '複数選べます' : '1 つ選びます' }),
        ]);
        for (const o of it.options)
          box.appendChild(
            nameRow({
              canEdit,
              name: o.label,
              retired: !!o.retired,
              what: `${what}の選択肢「${o.label}」`,
              indent: true,
              onSave: (label) =>
                void patch(it, { options: [{ id: o.id, label }] }, `選択肢を「${label}」に変更しました。`),
              onToggle: (retired) =>
                void patch(
                  it,
                  { options: [{ id: o.id, label: o.label, retired }] },
                  `選択肢「${o.label}」を${retired ? '廃止しました。' : '使用に戻しました。'}`,
                ),
            }),
          );
        const addOption = addRow(canEdit, `${what}に選択肢を追加`, '例: 参加している', (label) =>
          patch(it, { options: [{ label }] }, `選択肢「${label.trim()}」を追加しました。`),
        );
        if (addOption) {
          addOption.classList.add('indent');
          box.appendChild(addOption);
        }
        items.box.appendChild(box);
      });
      if (!canEdit) return;
      // a new item: its name, one or several answers, and its options one per line
      const label = el('input', {
        id: nextId('item'),
        maxlength: 20,
        placeholder: '例: 健康マイレージ',
        'data-role': 'item-label',
      });
      const multiple = el('input', { type: 'checkbox', 'data-role': 'item-multiple' });
      const options = el('textarea', {
        id: nextId('opts'),
        rows: 3,
        placeholder: '参加している\n参加していない',
        'data-role': 'item-options',
      });
      const form = el('form', { class: 'new-item' }, [
        el('h3', { text: '項目を追加' }),
        el('div', { class: 'field' }, [el('label', { for: label.id, text: '項目名' }), label]),
        el('div', { class: 'field' }, [el('label', { for: options.id, text: '選択肢 (1 行に 1 つ)' }), options]),
        el('label', { class: 'check' }, [multiple, ' 複数選べるようにする']),
        el('p', {}, [el('button', { type: 'submit', text: '項目を追加' })]),
      ]);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const opts = options.value
          .split('\n')
          .map((x) => x.trim())
          .filter(Boolean)
          .map((x) => ({ label: x }));
        void change(
          items.status,
          'POST',
          `${base}/attribute-items`,
          { label: label.value, multiple: multiple.checked, options: opts },
          `項目「${label.value.trim()}」を追加しました。`,
          loadItems,
        );
      });
      items.box.appendChild(form);
    });

  // ------------------------------------------------------------------ test devices
  const devices = section(
    root,
    'test-devices',
    'テスト端末',
    'テスト送信の宛先です。「QR コードで登録」で表示した QR コードを担当者のスマートフォンの LINE で読み取るか、LINE のユーザー ID (U で始まる 33 文字) を入力して登録します。',
  );

  const loadDevices = (): Promise<void> =>
    reload<{ devices?: TestDevice[] }>(`${base}/test-devices`, [devices], 'テスト端末', (body) => {
      const list = body.devices ?? [];
      if (!list.length)
        devices.box.appendChild(el('p', { class: 'note', text: 'テスト端末はまだ登録されていません。' }));
      else {
        const remove = (d: TestDevice) => {
          const name = d.label || d.userId;
          return el('button', {
            type: 'button',
            class: 'danger small',
            text: '削除',
            'aria-label': `テスト端末「${name}」を削除`,
            disabled: !canEdit,
            onclick: () => {
              if (!window.confirm(`テスト端末「${name}」を削除します。よろしいですか?`)) return;
              void change(
                devices.status,
                'DELETE',
                `${base}/test-devices/${encodeURIComponent(d.userId)}`,
                undefined,
                '削除しました。',
                loadDevices,
              );
            },
          });
        };
        devices.box.appendChild(
          el('table', {}, [
            el('thead', {}, [
              el('tr', {}, [
                el('th', { scope: 'col', text: '名前' }),
                el('th', { scope: 'col', text: 'ユーザー ID' }),
                el('th', {}),
              ]),
            ]),
            el(
              'tbody',
              {},
              list.map((d) =>
                el('tr', {}, [
                  el('td', { text: d.label || '(名前なし)' }),
                  el('td', { class: 'mono', text: d.userId }),
                  el('td', {}, [remove(d)]),
                ]),
              ),
            ),
          ]),
        );
      }
      if (!canEdit) return;
      const user = el('input', {
        id: nextId('dev'),
        maxlength: 33,
        placeholder: 'U0123456789abcdef0123456789abcdef',
        'data-role': 'device-user',
        class: 'mono',
        size: 36,
      });
      const name = el('input', {
        id: nextId('devname'),
        maxlength: 50,
        placeholder: '例: 担当者のスマートフォン',
        'data-role': 'device-label',
      });
      const form = el('form', { class: 'add-row' }, [
        el('label', { for: user.id, text: 'ユーザー ID' }),
        ' ',
        user,
        ' ',
        el('label', { for: name.id, text: '名前' }),
        ' ',
        name,
        ' ',
        el('button', { type: 'submit', class: 'small', text: '登録' }),
      ]);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void change(
          devices.status,
          'POST',
          `${base}/test-devices`,
          { userId: user.value.trim(), label: name.value },
          'テスト端末を登録しました。',
          loadDevices,
        );
      });
      devices.box.appendChild(form);
      devices.box.appendChild(qrPairing(base, devices.status, loadDevices));
    });

  // ------------------------------------------------------------------ rich menu
  const menu = section(
    root,
    'rich-menu',
    'リッチメニュー',
    '住民のトーク画面の下に出るメニューです。「登録内容の確認・変更」は上の項目で登録を始めます。「お知らせ」「問い合わせ」は指定したページを開きます。',
  );

  const loadMenu = (): Promise<void> =>
    reload<{ richMenu?: RichMenu | null }>(`${base}/rich-menu`, [menu], 'リッチメニュー', (body) => {
      const m = body.richMenu ?? null;
      menu.box.appendChild(
        el('p', {
          text: m ? `適用済み (${dateTime(new Date(m.appliedAt).toISOString())})` : 'まだ適用されていません。',
        }),
      );
      if (!canEdit) return;
      const url = (id: string, value: string, placeholder: string, role: string) =>
        el('input', { id: nextId(id), type: 'url', value, placeholder, size: 50, 'data-role': role });
      const news = url('news', m?.newsUrl || '', 'https://www.city.example.lg.jp/news/', 'news-url');
      const contact = url('contact', m?.contactUrl || '', 'https://www.city.example.lg.jp/contact/', 'contact-url');
      const form = el('form', { class: 'rich-menu' }, [
        el('div', { class: 'field' }, [el('label', { for: news.id, text: '「お知らせ」で開くページ' }), news]),
        el('div', { class: 'field' }, [el('label', { for: contact.id, text: '「問い合わせ」で開くページ' }), contact]),
        el('p', {}, [el('button', { type: 'submit', text: m ? 'リッチメニューを作り直す' : 'リッチメニューを適用' })]),
      ]);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const body: { newsUrl?: string; contactUrl?: string } = {};
        if (news.value.trim()) body.newsUrl = news.value.trim();
        if (contact.value.trim()) body.contactUrl = contact.value.trim();
        void change(menu.status, 'POST', `${base}/rich-menu`, body, 'リッチメニューを適用しました。', loadMenu);
      });
      menu.box.appendChild(form);
    });

  if (!canEdit)
    root.prepend(el('p', { class: 'note', text: 'このアカウントには「配信」の権限がないため、表示のみです。' }));
  void loadCategories();
  void loadItems();
  void loadDevices();
  void loadMenu();
}
