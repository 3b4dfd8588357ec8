// Tayori 配信設定: what residents choose from when they register inside LINE — the areas, the 関心のある
// 分野 tree (大分類・中分類; the small level is the areas), extra registration items and their
// options — plus the tenant's test devices and its rich menu. Names change and things retire without
// losing residents' earlier answers (retired ones are no longer offered; their answers stay). Every
// change goes through delivery's API with the session's CSRF token (window.Tayori from records.js).
(function () {
  'use strict';
  var root = document.getElementById('delivery-settings');
  if (!root || !window.Tayori) return;
  var T = window.Tayori;
  var el = T.el;
  var base = '/api/v1/tenants/' + encodeURIComponent(root.getAttribute('data-tenant'));
  var canEdit = root.hasAttribute('data-can-edit');
  var uid = 0;
  var nextId = function (p) {
    return p + '-' + ++uid;
  };
  var bySort = function (a, b) {
    return a.sort - b.sort || (a.id < b.id ? -1 : 1);
  };

  /** The API's complaint in words: its field messages, or its sentence. */
  var problem = function (r) {
    var details = r.body && r.body.error && r.body.error.details;
    return details && details.length
      ? details
          .map(function (d) {
            return d.message;
          })
          .join(' ')
      : T.errorText(r);
  };

  /** A call that changes something: its outcome said in `status`, then `after` (a reload) on success. */
  var change = function (status, method, url, body, done, after) {
    T.say(status, '保存しています…');
    return T.api(method, url, body).then(function (r) {
      if (!r.ok) {
        T.say(status, problem(r), true);
        return false;
      }
      // said once the section shows the change
      return Promise.resolve(after && after()).then(function () {
        T.say(status, done);
        return true;
      });
    });
  };

  /**
   * One named thing (an area, a category, an item, an option): its name to edit and save, and
   * 廃止する / 使用に戻す. `what` names it for screen readers and messages.
   */
  function nameRow(opts) {
    var id = nextId('name');
    var input = el('input', { id: id, value: opts.name, maxlength: 20, 'data-role': 'name', disabled: !canEdit });
    var save = el('button', {
      type: 'button',
      class: 'secondary small',
      text: '名前を保存',
      'aria-label': opts.what + 'の名前を保存',
      disabled: !canEdit,
    });
    var toggle = el('button', {
      type: 'button',
      class: (opts.retired ? 'secondary' : 'danger') + ' small',
      text: opts.retired ? '使用に戻す' : '廃止する',
      'aria-label': opts.what + (opts.retired ? 'を使用に戻す' : 'を廃止する'),
      disabled: !canEdit,
    });
    save.addEventListener('click', function () {
      if (input.value.trim() === opts.name) return;
      opts.onSave(input.value);
    });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') {
        e.preventDefault();
        save.click();
      }
    });
    toggle.addEventListener('click', function () {
      opts.onToggle(!opts.retired);
    });
    var move = function (dir, text, label) {
      var b = el('button', {
        type: 'button',
        class: 'secondary small',
        text: text,
        'aria-label': opts.what + label,
        disabled: !canEdit || !opts.onMove || (dir < 0 ? opts.first : opts.last),
      });
      b.addEventListener('click', function () {
        opts.onMove(dir);
      });
      return b;
    };
    return el('div', { class: 'name-row' + (opts.retired ? ' retired' : '') + (opts.indent ? ' indent' : '') }, [
      el('label', { for: id, class: 'sr', text: opts.what + 'の名前' }),
      input,
      save,
      toggle,
      opts.onMove ? move(-1, '↑', 'を上へ') : null,
      opts.onMove ? move(1, '↓', 'を下へ') : null,
      opts.retired ? el('span', { class: 'badge', text: '廃止' }) : null,
    ]);
  }

  /** A one-field form that adds something (Enter or the button). */
  function addRow(label, placeholder, onAdd) {
    if (!canEdit) return null;
    var id = nextId('add');
    var input = el('input', { id: id, maxlength: 20, placeholder: placeholder, 'data-role': 'new' });
    var button = el('button', { type: 'submit', class: 'small', text: '追加' });
    var form = el('form', { class: 'add-row' }, [el('label', { for: id, text: label }), ' ', input, ' ', button]);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      Promise.resolve(onAdd(input.value)).then(function (ok) {
        if (ok) input.value = '';
      });
    });
    return form;
  }

  /**
   * Moves list[i] one place up (-1) or down (+1) among its siblings: the order residents see in
   * their quick replies. Every sibling whose place changed gets its new sort number.
   */
  function reorder(status, list, i, dir, urlOf, done, after) {
    var next = list.slice();
    var j = i + dir;
    next[i] = list[j];
    next[j] = list[i];
    var calls = next
      .map(function (x, k) {
        return x.sort === k ? null : { url: urlOf(x), sort: k };
      })
      .filter(Boolean);
    T.say(status, '保存しています…');
    return calls
      .reduce(function (p, c) {
        return p.then(function (ok) {
          return ok
            ? T.api('PATCH', c.url, { sort: c.sort }).then(function (r) {
                if (!r.ok) T.say(status, problem(r), true);
                return r.ok;
              })
            : false;
        });
      }, Promise.resolve(true))
      .then(function (ok) {
        return after().then(function () {
          if (ok) T.say(status, done);
        });
      });
  }

  /** GETs base + path, empties the sections and draws the answer; a failure is said in the first section. */
  function reload(path, sections, what, draw) {
    return T.api('GET', base + path).then(function (r) {
      sections.forEach(function (x) {
        x.box.textContent = '';
      });
      if (!r.ok) {
        T.say(sections[0].status, what + 'を読み込めませんでした: ' + T.errorText(r), true);
        return;
      }
      return draw(r.body);
    });
  }

  function section(id, title, lead) {
    var box = el('div', { class: 'section-body' });
    var status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
    var node = el('section', { class: 'card settings', id: id, 'aria-labelledby': id + '-h' }, [
      el('h2', { id: id + '-h', text: title }),
      el('p', { class: 'note', text: lead }),
      box,
      status,
    ]);
    root.appendChild(node);
    return { box: box, status: status };
  }

  // ------------------------------------------------------------------ areas and the interest tree
  var areas = section(
    'areas',
    '地域',
    '住民が「お住まい」「知りたい地域」で選ぶ地域です。関心のある分野では、中分類の下の小分類になります。',
  );
  var tree = section(
    'interests',
    '関心のある分野',
    '大分類と中分類 (2 段) です。住民は中分類ごとに地域を選べます。名前を変えたり廃止したりしても、住民がこれまでに登録した内容は消えません。',
  );

  function loadCategories() {
    return reload('/categories', [areas, tree], '地域と分野', function (body) {
      var cats = body.categories || [];
      var patch = function (status, c, body, done) {
        return change(status, 'PATCH', base + '/categories/' + encodeURIComponent(c.id), body, done, loadCategories);
      };
      var add = function (status, parentId, name, done) {
        return change(status, 'POST', base + '/categories', { parentId: parentId, name: name }, done, loadCategories);
      };
      var catUrl = function (c) {
        return base + '/categories/' + encodeURIComponent(c.id);
      };
      var row = function (status, c, what, indent, siblings) {
        var i = siblings.indexOf(c);
        return nameRow({
          name: c.name,
          retired: c.retired,
          what: what,
          indent: indent,
          first: i === 0,
          last: i === siblings.length - 1,
          onMove: function (dir) {
            reorder(
              status,
              siblings,
              i,
              dir,
              catUrl,
              '「' + c.name + '」を' + (dir < 0 ? '上へ' : '下へ') + '移しました。',
              loadCategories,
            );
          },
          onSave: function (name) {
            patch(status, c, { name: name }, '「' + name + '」に変更しました。');
          },
          onToggle: function (retired) {
            patch(
              status,
              c,
              { retired: retired },
              '「' + c.name + '」を' + (retired ? '廃止しました (登録済みの内容は残ります)。' : '使用に戻しました。'),
            );
          },
        });
      };
      var list = cats
        .filter(function (c) {
          return c.parentId === '@area';
        })
        .sort(bySort);
      if (!list.length) areas.box.appendChild(el('p', { class: 'note', text: 'まだ地域がありません。' }));
      list.forEach(function (a) {
        areas.box.appendChild(row(areas.status, a, '地域「' + a.name + '」', false, list));
      });
      var addArea = addRow('地域を追加', '例: 久居', function (name) {
        return add(areas.status, '@area', name, '地域「' + name.trim() + '」を追加しました。');
      });
      if (addArea) areas.box.appendChild(addArea);

      var larges = cats
        .filter(function (c) {
          return c.parentId === '';
        })
        .sort(bySort);
      larges.forEach(function (l) {
        var group = el('div', { class: 'large' }, [row(tree.status, l, '大分類「' + l.name + '」', false, larges)]);
        var middles = cats
          .filter(function (c) {
            return c.parentId === l.id;
          })
          .sort(bySort);
        middles.forEach(function (m) {
          group.appendChild(row(tree.status, m, '中分類「' + l.name + ' › ' + m.name + '」', true, middles));
        });
        var addMid = addRow('「' + l.name + '」に中分類を追加', '例: 避難情報', function (name) {
          return add(tree.status, l.id, name, '「' + l.name + ' › ' + name.trim() + '」を追加しました。');
        });
        if (addMid) {
          addMid.classList.add('indent');
          group.appendChild(addMid);
        }
        tree.box.appendChild(group);
      });
      var addLarge = addRow('大分類を追加', '例: 防災', function (name) {
        return add(tree.status, '', name, '大分類「' + name.trim() + '」を追加しました。');
      });
      if (addLarge) tree.box.appendChild(addLarge);
    });
  }

  // ------------------------------------------------------------------ extra registration items
  var items = section(
    'items',
    '追加の登録項目',
    '性別・生まれ年などのほかに住民に尋ねる項目と、その選択肢です (選択肢は 12 個まで。クイックリプライで選びます)。',
  );

  function loadItems() {
    return reload('/attribute-items', [items], '登録項目', function (body) {
      var list = (body.items || []).sort(bySort);
      if (!list.length) items.box.appendChild(el('p', { class: 'note', text: '追加の登録項目はまだありません。' }));
      var patch = function (it, body, done) {
        return change(
          items.status,
          'PATCH',
          base + '/attribute-items/' + encodeURIComponent(it.id),
          body,
          done,
          loadItems,
        );
      };
      var itemUrl = function (x) {
        return base + '/attribute-items/' + encodeURIComponent(x.id);
      };
      list.forEach(function (it, i) {
        var what = '項目「' + it.label + '」';
        var box = el('div', { class: 'item' }, [
          nameRow({
            name: it.label,
            retired: it.retired,
            what: what,
            first: i === 0,
            last: i === list.length - 1,
            onMove: function (dir) {
              reorder(
                items.status,
                list,
                i,
                dir,
                itemUrl,
                '「' + it.label + '」を' + (dir < 0 ? '上へ' : '下へ') + '移しました。',
                loadItems,
              );
            },
            onSave: function (label) {
              patch(it, { label: label }, '「' + label + '」に変更しました。');
            },
            onToggle: function (retired) {
              patch(
                it,
                { retired: retired },
                what + 'を' + (retired ? '廃止しました (登録済みの内容は残ります)。' : '使用に戻しました。'),
              );
            },
          }),
          el('p', { class: 'note indent', text: it.multiple ? '複数選べます' : '1 つ選びます' }),
        ]);
        it.options.forEach(function (o) {
          box.appendChild(
            nameRow({
              name: o.label,
              retired: !!o.retired,
              what: what + 'の選択肢「' + o.label + '」',
              indent: true,
              onSave: function (label) {
                patch(it, { options: [{ id: o.id, label: label }] }, '選択肢を「' + label + '」に変更しました。');
              },
              onToggle: function (retired) {
                patch(
                  it,
                  { options: [{ id: o.id, label: o.label, retired: retired }] },
                  '選択肢「' + o.label + '」を' + (retired ? '廃止しました。' : '使用に戻しました。'),
                );
              },
            }),
          );
        });
        var addOption = addRow(what + 'に選択肢を追加', '例: 参加している', function (label) {
          return patch(it, { options: [{ label: label }] }, '選択肢「' + label.trim() + '」を追加しました。');
        });
        if (addOption) {
          addOption.classList.add('indent');
          box.appendChild(addOption);
        }
        items.box.appendChild(box);
      });
      if (!canEdit) return;
      // a new item: its name, one or several answers, and its options one per line
      var label = el('input', {
        id: nextId('item'),
        maxlength: 20,
        placeholder: '例: 健康マイレージ',
        'data-role': 'item-label',
      });
      var multiple = el('input', { type: 'checkbox', 'data-role': 'item-multiple' });
      var options = el('textarea', {
        id: nextId('opts'),
        rows: 3,
        placeholder: '参加している\n参加していない',
        'data-role': 'item-options',
      });
      var form = el('form', { class: 'new-item' }, [
        el('h3', { text: '項目を追加' }),
        el('div', { class: 'field' }, [el('label', { for: label.id, text: '項目名' }), label]),
        el('div', { class: 'field' }, [el('label', { for: options.id, text: '選択肢 (1 行に 1 つ)' }), options]),
        el('label', { class: 'check' }, [multiple, ' 複数選べるようにする']),
        el('p', {}, [el('button', { type: 'submit', text: '項目を追加' })]),
      ]);
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var opts = options.value
          .split('\n')
          .map(function (x) {
            return x.trim();
          })
          .filter(Boolean)
          .map(function (x) {
            return { label: x };
          });
        change(
          items.status,
          'POST',
          base + '/attribute-items',
          { label: label.value, multiple: multiple.checked, options: opts },
          '項目「' + label.value.trim() + '」を追加しました。',
          loadItems,
        );
      });
      items.box.appendChild(form);
    });
  }

  // ------------------------------------------------------------------ test devices
  var devices = section(
    'test-devices',
    'テスト端末',
    'テスト送信の宛先です。担当者の LINE のユーザー ID (U で始まる 33 文字) を登録します。',
  );

  function loadDevices() {
    return reload('/test-devices', [devices], 'テスト端末', function (body) {
      var list = body.devices || [];
      if (!list.length)
        devices.box.appendChild(el('p', { class: 'note', text: 'テスト端末はまだ登録されていません。' }));
      else {
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
              list.map(function (d) {
                var remove = el('button', {
                  type: 'button',
                  class: 'danger small',
                  text: '削除',
                  'aria-label': 'テスト端末「' + (d.label || d.userId) + '」を削除',
                  disabled: !canEdit,
                });
                remove.addEventListener('click', function () {
                  if (!window.confirm('テスト端末「' + (d.label || d.userId) + '」を削除します。よろしいですか?'))
                    return;
                  change(
                    devices.status,
                    'DELETE',
                    base + '/test-devices/' + encodeURIComponent(d.userId),
                    undefined,
                    '削除しました。',
                    loadDevices,
                  );
                });
                return el('tr', {}, [
                  el('td', { text: d.label || '(名前なし)' }),
                  el('td', { class: 'mono', text: d.userId }),
                  el('td', {}, [remove]),
                ]);
              }),
            ),
          ]),
        );
      }
      if (!canEdit) return;
      var user = el('input', {
        id: nextId('dev'),
        maxlength: 33,
        placeholder: 'U0123456789abcdef0123456789abcdef',
        'data-role': 'device-user',
        class: 'mono',
        size: 36,
      });
      var name = el('input', {
        id: nextId('devname'),
        maxlength: 50,
        placeholder: '例: 担当者のスマートフォン',
        'data-role': 'device-label',
      });
      var form = el('form', { class: 'add-row' }, [
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
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        change(
          devices.status,
          'POST',
          base + '/test-devices',
          { userId: user.value.trim(), label: name.value },
          'テスト端末を登録しました。',
          loadDevices,
        );
      });
      devices.box.appendChild(form);
    });
  }

  // ------------------------------------------------------------------ rich menu
  var menu = section(
    'rich-menu',
    'リッチメニュー',
    '住民のトーク画面の下に出るメニューです。「登録内容の確認・変更」は上の項目で登録を始めます。「お知らせ」「問い合わせ」は指定したページを開きます。',
  );

  function loadMenu() {
    return reload('/rich-menu', [menu], 'リッチメニュー', function (body) {
      var m = body.richMenu;
      menu.box.appendChild(
        el('p', { text: m ? '適用済み (' + T.dateTime(m.appliedAt) + ')' : 'まだ適用されていません。' }),
      );
      if (!canEdit) return;
      var news = el('input', {
        id: nextId('news'),
        type: 'url',
        value: (m && m.newsUrl) || '',
        placeholder: 'https://www.city.example.lg.jp/news/',
        size: 50,
        'data-role': 'news-url',
      });
      var contact = el('input', {
        id: nextId('contact'),
        type: 'url',
        value: (m && m.contactUrl) || '',
        placeholder: 'https://www.city.example.lg.jp/contact/',
        size: 50,
        'data-role': 'contact-url',
      });
      var form = el('form', { class: 'rich-menu' }, [
        el('div', { class: 'field' }, [el('label', { for: news.id, text: '「お知らせ」で開くページ' }), news]),
        el('div', { class: 'field' }, [el('label', { for: contact.id, text: '「問い合わせ」で開くページ' }), contact]),
        el('p', {}, [el('button', { type: 'submit', text: m ? 'リッチメニューを作り直す' : 'リッチメニューを適用' })]),
      ]);
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var body = {};
        if (news.value.trim()) body.newsUrl = news.value.trim();
        if (contact.value.trim()) body.contactUrl = contact.value.trim();
        change(menu.status, 'POST', base + '/rich-menu', body, 'リッチメニューを適用しました。', loadMenu);
      });
      menu.box.appendChild(form);
    });
  }

  if (!canEdit)
    root.insertBefore(
      el('p', { class: 'note', text: 'このアカウントには「配信」の権限がないため、表示のみです。' }),
      root.firstChild,
    );
  loadCategories();
  loadItems();
  loadDevices();
  loadMenu();
})();
