// Tayori 配信 composer: up to 5 messages (text / sticker / image / video / Flex), the audience (all friends, a
// segment built from residents' attributes, or the test devices) with a live count, 内容を確認
// (delivery's validate, errors next to their fields), プレビュー (a LINE-like chat), テスト送信, and
// 下書き保存 / すぐに送る / 予約. Everything goes through delivery's API with the session's CSRF token
// (window.Tayori from records.js).
(function () {
  'use strict';
  var form = document.getElementById('composer');
  if (!form || !window.Tayori) return;
  var T = window.Tayori;
  var el = T.el;
  var base = '/api/v1/tenants/' + encodeURIComponent(form.getAttribute('data-tenant'));
  var MAX_MESSAGES = 5;
  var MAX_TEXT = 5000;
  var nf = function (n) {
    return Number(n).toLocaleString('ja-JP');
  };
  var uid = 0;
  var nextId = function (p) {
    return p + '-' + ++uid;
  };

  // ------------------------------------------------------------------ state
  var newMessage = function () {
    return {
      type: 'text',
      text: '',
      packageId: '',
      stickerId: '',
      originalContentUrl: '',
      previewImageUrl: '',
      trackingId: '',
      altText: '',
      contents: '',
    };
  };
  var newCond = function () {
    return { attr: '', op: 'in', values: [], min: '', max: '', not: false };
  };
  var newGroup = function () {
    return { op: 'and', not: false, conds: [newCond()] };
  };
  var state = { messages: [newMessage()], segment: { op: 'and', groups: [newGroup()] } };
  var catalog = null; // attribute items once loaded
  var testDevices = null;

  var TYPE_LABELS = { text: 'テキスト', sticker: 'スタンプ', image: '画像', video: '動画', flex: 'Flex メッセージ' };
  var MAX_ALT_TEXT = 1500;
  var GENDERS = [
    { id: 'female', label: '女性' },
    { id: 'male', label: '男性' },
    { id: 'other', label: 'その他・回答しない' },
  ];
  var LIFESTYLES = [
    { id: 'worker', label: '会社員・公務員' },
    { id: 'self', label: '自営業' },
    { id: 'student', label: '学生' },
    { id: 'homemaker', label: '家事専業' },
    { id: 'retired', label: '退職・年金生活' },
    { id: 'other', label: 'その他' },
  ];

  // ------------------------------------------------------------------ messages
  var list = document.getElementById('message-list');
  var addButton = document.getElementById('add-message');
  var room = document.getElementById('message-room');

  function field(opts) {
    // a labelled control with its error slot (records.js finds it through aria-describedby)
    var id = nextId('f');
    var err = el('p', { class: 'field-error', id: id + '-err', hidden: true });
    var describedBy = [opts.counter ? id + '-count' : '', opts.hint ? id + '-hint' : '', id + '-err']
      .filter(Boolean)
      .join(' ');
    var attrs = { id: id, 'data-field': opts.path, 'aria-describedby': describedBy };
    Object.keys(opts.attrs || {}).forEach(function (k) {
      attrs[k] = opts.attrs[k];
    });
    var control = el(opts.tag || 'input', attrs);
    control.value = opts.value || '';
    control.addEventListener('input', function () {
      opts.onInput(control.value, control);
    });
    return {
      control: control,
      node: el('div', { class: 'field' + (opts.wide ? ' wide' : '') }, [
        el('label', { for: id, text: opts.label }),
        control,
        opts.counter ? el('p', { class: 'counter', id: id + '-count' }) : null,
        opts.hint ? el('p', { class: 'hint', id: id + '-hint', text: opts.hint }) : null,
        err,
      ]),
    };
  }

  function renderMessages() {
    list.textContent = '';
    state.messages.forEach(function (m, i) {
      var n = i + 1;
      var path = 'messages.' + i;
      var typeId = nextId('type');
      var typeSelect = el(
        'select',
        { id: typeId, 'data-field': path + '.type' },
        Object.keys(TYPE_LABELS).map(function (t) {
          return el('option', { value: t, text: TYPE_LABELS[t], selected: m.type === t });
        }),
      );
      typeSelect.addEventListener('change', function () {
        m.type = typeSelect.value;
        renderMessages();
        focusIn(i, '[data-field="' + path + '.type"]');
      });
      var move = function (to, label, disabled, key) {
        return el('button', {
          type: 'button',
          class: 'secondary small',
          text: label,
          'aria-label': 'メッセージ ' + n + ' を' + key,
          disabled: disabled,
          onclick: function () {
            var x = state.messages.splice(i, 1)[0];
            if (to !== null) state.messages.splice(to, 0, x);
            if (!state.messages.length) state.messages.push(newMessage());
            renderMessages();
            if (to !== null) focusIn(to, 'button[aria-label$="' + key + '"]');
            else if (list.querySelector('select')) list.querySelector('select').focus();
          },
        });
      };
      var body = [];
      if (m.type === 'text') {
        var t = field({
          tag: 'textarea',
          path: path + '.text',
          label: 'メッセージ ' + n + ' の本文',
          value: m.text,
          wide: true,
          counter: true,
          attrs: { name: 'text', rows: 5, maxlength: MAX_TEXT },
          hint: '5,000 文字まで。URL を書くとリンクになります (クリック計測の対象)。',
          onInput: function (v) {
            m.text = v;
            countText(v);
          },
        });
        var counter = t.node.querySelector('.counter');
        var countText = function (v) {
          counter.textContent = nf(v.length) + ' / ' + nf(MAX_TEXT) + ' 文字';
          counter.classList.toggle('over', v.length >= MAX_TEXT);
        };
        countText(m.text);
        body.push(t.node);
      } else if (m.type === 'sticker') {
        body.push(
          field({
            path: path + '.packageId',
            label: 'メッセージ ' + n + ' のパッケージ ID',
            value: m.packageId,
            attrs: { inputmode: 'numeric', autocomplete: 'off' },
            hint: 'LINE の「送信できるスタンプ」一覧の番号 (例: 446)',
            onInput: function (v) {
              m.packageId = v;
            },
          }).node,
        );
        body.push(
          field({
            path: path + '.stickerId',
            label: 'メッセージ ' + n + ' のスタンプ ID',
            value: m.stickerId,
            attrs: { inputmode: 'numeric', autocomplete: 'off' },
            hint: '例: 1988',
            onInput: function (v) {
              m.stickerId = v;
            },
          }).node,
        );
      } else if (m.type === 'video') {
        body.push(
          field({
            path: path + '.originalContentUrl',
            label: 'メッセージ ' + n + ' の動画 URL',
            value: m.originalContentUrl,
            wide: true,
            attrs: { type: 'url', inputmode: 'url', placeholder: 'https://' },
            hint: 'https:// で始まる MP4 (200MB まで)',
            onInput: function (v) {
              m.originalContentUrl = v;
            },
          }).node,
        );
        body.push(
          field({
            path: path + '.previewImageUrl',
            label: 'メッセージ ' + n + ' のプレビュー画像 URL',
            value: m.previewImageUrl,
            wide: true,
            attrs: { type: 'url', inputmode: 'url', placeholder: 'https://' },
            hint: '再生前に表示される画像 (JPEG・PNG、1MB まで)',
            onInput: function (v) {
              m.previewImageUrl = v;
            },
          }).node,
        );
        body.push(
          field({
            path: path + '.trackingId',
            label: 'メッセージ ' + n + ' のトラッキング ID (任意)',
            value: m.trackingId,
            attrs: { autocomplete: 'off' },
            hint: '最後まで視聴されたことを知らせてもらうときに付けます (半角英数記号 100 文字まで)',
            onInput: function (v) {
              m.trackingId = v;
            },
          }).node,
        );
      } else if (m.type === 'flex') {
        var alt = field({
          path: path + '.altText',
          label: 'メッセージ ' + n + ' の代替テキスト',
          value: m.altText,
          wide: true,
          counter: true,
          attrs: { maxlength: MAX_ALT_TEXT },
          hint: '通知やトーク一覧に表示される文 (1,500 文字まで)',
          onInput: function (v) {
            m.altText = v;
            countAlt(v);
          },
        });
        var altCounter = alt.node.querySelector('.counter');
        var countAlt = function (v) {
          altCounter.textContent = nf(v.length) + ' / ' + nf(MAX_ALT_TEXT) + ' 文字';
        };
        countAlt(m.altText);
        body.push(alt.node);
        body.push(
          field({
            tag: 'textarea',
            path: path + '.contents',
            label: 'メッセージ ' + n + ' の内容 (Flex の JSON)',
            value: m.contents,
            wide: true,
            attrs: { rows: 10, spellcheck: 'false', class: 'code' },
            hint: 'LINE の Flex Message Simulator で作った bubble か carousel の JSON を貼り付けます。',
            onInput: function (v) {
              m.contents = v;
            },
          }).node,
        );
      } else {
        body.push(
          field({
            path: path + '.originalContentUrl',
            label: 'メッセージ ' + n + ' の画像 URL',
            value: m.originalContentUrl,
            wide: true,
            attrs: { type: 'url', inputmode: 'url', placeholder: 'https://' },
            hint: 'https:// で始まる JPEG・PNG (10MB まで)',
            onInput: function (v) {
              m.originalContentUrl = v;
            },
          }).node,
        );
        body.push(
          field({
            path: path + '.previewImageUrl',
            label: 'メッセージ ' + n + ' のプレビュー画像 URL',
            value: m.previewImageUrl,
            wide: true,
            attrs: { type: 'url', inputmode: 'url', placeholder: 'https://' },
            hint: 'トーク画面に小さく出る画像 (1MB まで)',
            onInput: function (v) {
              m.previewImageUrl = v;
            },
          }).node,
        );
      }
      var set = el('fieldset', { class: 'message', 'data-field': path }, [
        el('legend', { text: 'メッセージ ' + n }),
        el('p', { class: 'field-error', hidden: true }),
        el('div', { class: 'message-head' }, [
          el('label', { for: typeId, text: '種類 ' }),
          typeSelect,
          el('span', { class: 'spacer' }),
          move(i - 1, '↑ 上へ', i === 0, '上へ移動'),
          move(i + 1, '↓ 下へ', i === state.messages.length - 1, '下へ移動'),
          move(null, '削除', state.messages.length === 1 && isBlank(m), '削除'),
        ]),
        el('div', { class: 'form-grid' }, body),
      ]);
      list.appendChild(set);
    });
    addButton.disabled = state.messages.length >= MAX_MESSAGES;
    room.textContent =
      state.messages.length >= MAX_MESSAGES
        ? 'メッセージは 5 件までです。'
        : 'あと ' + (MAX_MESSAGES - state.messages.length) + ' 件追加できます。';
  }
  function isBlank(m) {
    return (
      !m.text &&
      !m.packageId &&
      !m.stickerId &&
      !m.originalContentUrl &&
      !m.previewImageUrl &&
      !m.trackingId &&
      !m.altText &&
      !m.contents
    );
  }
  function focusIn(i, selector) {
    var set = list.children[i];
    var c = set && set.querySelector(selector);
    if (c) c.focus();
  }
  addButton.addEventListener('click', function () {
    if (state.messages.length >= MAX_MESSAGES) return;
    state.messages.push(newMessage());
    renderMessages();
    focusIn(state.messages.length - 1, 'textarea, select');
  });

  /** Flex contents that are not JSON, by field path: their message replaces the API's (which only sees no contents). */
  var localErrors = {};
  function messagesPayload() {
    localErrors = {};
    return state.messages.map(function (m, i) {
      if (m.type === 'sticker')
        return { type: 'sticker', packageId: m.packageId.trim(), stickerId: m.stickerId.trim() };
      if (m.type === 'image')
        return {
          type: 'image',
          originalContentUrl: m.originalContentUrl.trim(),
          previewImageUrl: m.previewImageUrl.trim(),
        };
      if (m.type === 'video') {
        var v = {
          type: 'video',
          originalContentUrl: m.originalContentUrl.trim(),
          previewImageUrl: m.previewImageUrl.trim(),
        };
        if (m.trackingId.trim()) v.trackingId = m.trackingId.trim();
        return v;
      }
      if (m.type === 'flex') {
        var contents = null;
        if (m.contents.trim()) {
          try {
            contents = JSON.parse(m.contents);
          } catch (e) {
            localErrors['messages.' + i + '.contents'] = 'JSON として読めません (' + e.message + ')';
          }
        }
        return { type: 'flex', altText: m.altText, contents: contents };
      }
      return { type: 'text', text: m.text };
    });
  }

  // ------------------------------------------------------------------ audience
  var builder = document.getElementById('segment-builder');
  var sendMethodBox = document.getElementById('send-method');
  var countOut = document.getElementById('audience-count');
  var audienceType = function () {
    return form.querySelector('input[name=audienceType]:checked').value;
  };

  function itemOf(key) {
    return (catalog || []).filter(function (x) {
      return x.key === key;
    })[0];
  }
  function opsOf(item) {
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

  function loadCatalog() {
    return Promise.all([
      T.api('GET', base + '/categories'),
      T.api('GET', base + '/attribute-items'),
      T.api('GET', base + '/test-devices'),
    ]).then(function (rs) {
      var cats = rs[0].ok ? rs[0].body.categories || [] : [];
      var items = rs[1].ok ? rs[1].body.items || [] : [];
      if (rs[2].ok) {
        testDevices = (rs[2].body.devices || []).length;
        document.getElementById('test-device-count').textContent = '(' + testDevices + ' 台)';
      }
      var live = function (c) {
        return !c.retired;
      };
      var bySort = function (a, b) {
        return a.sort - b.sort;
      };
      var areas = cats
        .filter(function (c) {
          return c.parentId === '@area' && live(c);
        })
        .sort(bySort)
        .map(function (c) {
          return { id: c.id, label: c.name };
        });
      var interests = [];
      cats
        .filter(function (c) {
          return c.parentId === '' && live(c);
        })
        .sort(bySort)
        .forEach(function (l) {
          interests.push({ id: l.id, label: l.name });
          cats
            .filter(function (c) {
              return c.parentId === l.id && live(c);
            })
            .sort(bySort)
            .forEach(function (mid) {
              var path = l.id + '/' + mid.id;
              interests.push({ id: path, label: l.name + ' › ' + mid.name, indent: true });
              // the small level: the middle one in one area (what residents answer when the tenant has areas)
              areas.forEach(function (a) {
                interests.push({
                  id: path + '/' + a.id,
                  label: l.name + ' › ' + mid.name + ' › ' + a.label,
                  under: path,
                  short: a.label,
                });
              });
            });
        });
      catalog = [
        { key: 'gender', label: '性別', kind: 'choice', multiple: false, options: GENDERS },
        { key: 'birth_year', label: '生まれ年', kind: 'year' },
        { key: 'lifestyle', label: '生活スタイル', kind: 'choice', multiple: false, options: LIFESTYLES },
        { key: 'residence', label: 'お住まい', kind: 'choice', multiple: false, options: areas },
        { key: 'news_areas', label: '知りたい地域', kind: 'choice', multiple: true, options: areas },
        {
          key: 'interests',
          label: '関心のある分野',
          kind: 'choice',
          multiple: true,
          options: interests,
          hint: '大分類・中分類を選ぶと、その下の中分類・地域を選んだ人も含みます。地域ごとに選ぶには中分類の「地域で選ぶ」を開いてください。',
        },
      ].concat(
        items
          .filter(live)
          .sort(bySort)
          .map(function (it) {
            return {
              key: 'x:' + it.id,
              label: it.label,
              kind: 'choice',
              multiple: !!it.multiple,
              options: (it.options || []).map(function (o) {
                return { id: o.id, label: o.label + (o.retired ? ' (廃止)' : '') };
              }),
            };
          }),
      );
      if (!rs[0].ok || !rs[1].ok)
        T.say(countOut, '属性の一覧を読み込めませんでした: ' + T.errorText(rs[0].ok ? rs[1] : rs[0]), true);
    });
  }

  function renderBuilder() {
    builder.textContent = '';
    if (!catalog) {
      builder.appendChild(el('p', { class: 'note', text: '属性を読み込み中…' }));
      return;
    }
    var seg = state.segment;
    var joinWord = function (op) {
      return op === 'and' ? 'かつ' : 'または';
    };
    var opSelect = function (label, value, onChange, all) {
      var id = nextId('op');
      var s = el('select', { id: id }, [
        el('option', {
          value: 'and',
          text: all ? 'すべて満たす (AND)' : 'すべて満たす (AND)',
          selected: value === 'and',
        }),
        el('option', { value: 'or', text: 'いずれかを満たす (OR)', selected: value === 'or' }),
      ]);
      s.addEventListener('change', function () {
        onChange(s.value);
        renderBuilder();
        changed();
      });
      return el('span', { class: 'inline' }, [el('label', { for: id, text: label }), ' ', s]);
    };
    builder.appendChild(
      el('p', { class: 'seg-root-op' }, [
        opSelect(
          'グループどうしの組み合わせ:',
          seg.op,
          function (v) {
            seg.op = v;
          },
          true,
        ),
      ]),
    );
    seg.groups.forEach(function (g, gi) {
      var gn = gi + 1;
      var notId = nextId('gnot');
      var gNot = el('input', { type: 'checkbox', id: notId, checked: g.not });
      gNot.addEventListener('change', function () {
        g.not = gNot.checked;
        set.classList.toggle('negated', g.not);
        changed();
      });
      var set = el(
        'fieldset',
        { class: 'seg-group' + (g.not ? ' negated' : ''), 'data-field': 'audience.group.' + gi },
        [
          el('legend', { text: 'グループ ' + gn }),
          el('div', { class: 'seg-group-head' }, [
            opSelect('このグループの条件を', g.op, function (v) {
              g.op = v;
            }),
            el('label', { class: 'check', for: notId }, [gNot, ' このグループに当てはまる人を除く']),
          ]),
        ],
      );
      g.conds.forEach(function (c, ci) {
        if (ci > 0) set.appendChild(el('div', { class: 'joiner', 'aria-hidden': 'true', text: joinWord(g.op) }));
        set.appendChild(renderCond(g, c, gi, ci));
      });
      set.appendChild(
        el('p', { class: 'actions' }, [
          el('button', {
            type: 'button',
            class: 'secondary small',
            text: '＋ 条件を追加',
            'aria-label': 'グループ ' + gn + ' に条件を追加',
            disabled: g.conds.length >= 20,
            onclick: function () {
              g.conds.push(newCond());
              renderBuilder();
              changed();
              var sets = builder.querySelectorAll('.seg-group');
              var sel = sets[gi].querySelectorAll('.seg-cond select[data-role=attr]');
              if (sel.length) sel[sel.length - 1].focus();
            },
          }),
          seg.groups.length > 1
            ? el('button', {
                type: 'button',
                class: 'danger small',
                text: 'グループを削除',
                'aria-label': 'グループ ' + gn + ' を削除',
                onclick: function () {
                  seg.groups.splice(gi, 1);
                  renderBuilder();
                  changed();
                },
              })
            : null,
        ]),
      );
      if (gi > 0)
        builder.appendChild(el('div', { class: 'joiner group-joiner', 'aria-hidden': 'true', text: joinWord(seg.op) }));
      builder.appendChild(set);
    });
    builder.appendChild(
      el('p', {}, [
        el('button', {
          type: 'button',
          class: 'secondary small',
          id: 'add-group',
          text: '＋ グループを追加',
          disabled: seg.groups.length >= 20,
          onclick: function () {
            seg.groups.push(newGroup());
            renderBuilder();
            changed();
            var sel = builder.querySelectorAll('select[data-role=attr]');
            sel[sel.length - 1].focus();
          },
        }),
      ]),
    );
    builder.appendChild(
      el('p', { class: 'note seg-summary' }, [
        '条件の要約: ',
        el('span', { id: 'segment-summary', text: describe() || '(未設定)' }),
      ]),
    );
  }

  function renderCond(g, c, gi, ci) {
    var name = 'グループ ' + (gi + 1) + ' の条件 ' + (ci + 1);
    var item = itemOf(c.attr);
    var attrId = nextId('attr');
    var attr = el(
      'select',
      { id: attrId, 'data-role': 'attr' },
      [el('option', { value: '', text: '属性を選ぶ', selected: !c.attr })].concat(
        catalog.map(function (it) {
          return el('option', { value: it.key, text: it.label, selected: it.key === c.attr });
        }),
      ),
    );
    attr.addEventListener('change', function () {
      c.attr = attr.value;
      c.values = [];
      c.min = '';
      c.max = '';
      var ops = opsOf(itemOf(c.attr));
      c.op = ops.length ? ops[0][0] : 'in';
      renderBuilder();
      changed();
      var again = builder.querySelectorAll('.seg-group')[gi].querySelectorAll('select[data-role=attr]')[ci];
      if (again) again.focus();
    });
    var parts = [el('label', { for: attrId, class: 'sr', text: name + ' の属性' }), attr];
    if (item) {
      var opId = nextId('opr');
      var op = el(
        'select',
        { id: opId, 'data-role': 'op' },
        opsOf(item).map(function (o) {
          return el('option', { value: o[0], text: o[1], selected: o[0] === c.op });
        }),
      );
      op.addEventListener('change', function () {
        c.op = op.value;
        renderBuilder();
        changed();
      });
      parts.push(el('label', { for: opId, class: 'sr', text: name + ' の条件' }), op);
    }
    var values = el('div', { class: 'seg-values' });
    if (item && c.op === 'between') {
      var yr = function (key, label) {
        var id = nextId('yr');
        var input = el('input', {
          id: id,
          type: 'number',
          inputmode: 'numeric',
          min: 1900,
          max: 2100,
          step: 1,
          value: c[key],
          'data-role': key,
          placeholder: '例: 1970',
        });
        input.addEventListener('input', function () {
          c[key] = input.value;
          changed();
        });
        return el('label', { for: id, class: 'inline' }, [input, ' ' + label]);
      };
      values.appendChild(yr('min', '年から'));
      values.appendChild(yr('max', '年まで'));
    } else if (item && c.op !== 'exists') {
      if (!item.options.length)
        values.appendChild(
          el('p', {
            class: 'note',
            text:
              item.key === 'residence' || item.key === 'news_areas'
                ? '地域が登録されていません (配信設定の「地域」で追加してください)。'
                : '選択肢がありません。',
          }),
        );
      var tree = item.options.some(function (o) {
        return o.under;
      });
      var box = el('div', { class: 'options' + (tree ? ' tree' : ''), role: 'group', 'aria-label': name + ' の値' });
      var check = function (o, text) {
        var cb = el('input', { type: 'checkbox', value: o.id, checked: c.values.indexOf(o.id) >= 0 });
        cb.addEventListener('change', function () {
          c.values = Array.prototype.map.call(box.querySelectorAll('input:checked'), function (x) {
            return x.value;
          });
          changed();
        });
        return el('label', { class: 'check' + (o.indent ? ' indent' : '') }, [cb, ' ' + text]);
      };
      item.options.forEach(function (o) {
        if (o.under) return;
        var small = tree
          ? item.options.filter(function (x) {
              return x.under === o.id;
            })
          : [];
        if (!small.length) {
          box.appendChild(check(o, o.label));
          return;
        }
        // a middle category and, folded under it, the same in each area
        var chosen = small.filter(function (x) {
          return c.values.indexOf(x.id) >= 0;
        }).length;
        var areaBox = el(
          'div',
          { class: 'areas', role: 'group', 'aria-label': o.label + ' の地域' },
          small.map(function (x) {
            return check(x, x.short);
          }),
        );
        var summary = el('summary', { text: '地域で選ぶ' + (chosen ? ' (' + chosen + ')' : '') });
        areaBox.addEventListener('change', function () {
          var n = areaBox.querySelectorAll('input:checked').length;
          summary.textContent = '地域で選ぶ' + (n ? ' (' + n + ')' : '');
        });
        box.appendChild(
          el('div', { class: 'middle' }, [
            check(o, o.label),
            el('details', { class: 'areas', open: chosen > 0 }, [summary, areaBox]),
          ]),
        );
      });
      values.appendChild(box);
      if (item.hint) values.appendChild(el('p', { class: 'hint', text: item.hint }));
    }
    var notCb = el('input', { type: 'checkbox', checked: c.not, 'data-role': 'not' });
    var row = el('div', { class: 'seg-cond' + (c.not ? ' negated' : ''), role: 'group', 'aria-label': name }, [
      el(
        'div',
        { class: 'seg-cond-head' },
        parts.concat([
          el('label', { class: 'check not' }, [notCb, ' を除く']),
          el('span', { class: 'spacer' }),
          el('button', {
            type: 'button',
            class: 'danger small',
            text: '削除',
            'aria-label': name + ' を削除',
            onclick: function () {
              g.conds.splice(ci, 1);
              if (!g.conds.length) g.conds.push(newCond());
              renderBuilder();
              changed();
            },
          }),
        ]),
      ),
      values,
    ]);
    notCb.addEventListener('change', function () {
      c.not = notCb.checked;
      row.classList.toggle('negated', c.not);
      changed();
    });
    return row;
  }

  /** The first thing missing in the segment, in words; '' when it can be sent. */
  function incomplete() {
    var problem = '';
    state.segment.groups.forEach(function (g, gi) {
      g.conds.forEach(function (c, ci) {
        if (problem) return;
        var where = 'グループ ' + (gi + 1) + ' の条件 ' + (ci + 1);
        if (!c.attr) problem = where + ' の属性を選んでください';
        else if ((c.op === 'in' || c.op === 'all') && !c.values.length)
          problem = where + ' の値を 1 つ以上選んでください';
        else if (c.op === 'between' && c.min === '' && c.max === '')
          problem = where + ' の生まれ年 (から・まで) を入力してください';
        else if (c.op === 'between' && c.min !== '' && c.max !== '' && Number(c.min) > Number(c.max))
          problem = where + ' の生まれ年は「から」≦「まで」にしてください';
      });
    });
    return problem;
  }

  function leaf(c) {
    var l = { attr: c.attr, op: c.op };
    if (c.op === 'in' || c.op === 'all') l.values = c.values.slice();
    if (c.op === 'between') {
      if (c.min !== '') l.min = Math.trunc(Number(c.min));
      if (c.max !== '') l.max = Math.trunc(Number(c.max));
    }
    return c.not ? { not: l } : l;
  }
  function condition() {
    var gs = state.segment.groups.map(function (g) {
      var cs = g.conds.map(leaf);
      var x = cs.length === 1 ? cs[0] : g.op === 'and' ? { and: cs } : { or: cs };
      return g.not ? { not: x } : x;
    });
    return gs.length === 1 ? gs[0] : state.segment.op === 'and' ? { and: gs } : { or: gs };
  }
  /** 「性別: 女性 かつ お住まい: 久居」 — the segment in words (its label in the delivery list). */
  function describe() {
    if (!catalog) return '';
    var one = function (c) {
      var item = itemOf(c.attr);
      if (!item) return '';
      var s;
      if (c.op === 'exists') s = item.label + ': 回答あり';
      else if (c.op === 'between') s = item.label + ': ' + (c.min || '') + '〜' + (c.max || '') + '年';
      else {
        var names = c.values.map(function (v) {
          var o = item.options.filter(function (x) {
            return x.id === v;
          })[0];
          return o ? o.label : v;
        });
        s = item.label + ': ' + names.join(c.op === 'all' ? '・' : '/');
      }
      return c.not ? s + ' 以外' : s;
    };
    var gs = state.segment.groups
      .map(function (g) {
        var parts = g.conds.map(one).filter(Boolean);
        var s = parts.join(g.op === 'and' ? ' かつ ' : ' または ');
        if (g.not && s) return '(' + s + ') 以外';
        return parts.length > 1 && state.segment.groups.length > 1 ? '(' + s + ')' : s;
      })
      .filter(Boolean);
    var text = gs.join(state.segment.op === 'and' ? ' かつ ' : ' または ');
    return text.length > 100 ? text.slice(0, 99) + '…' : text;
  }

  function audience() {
    var type = audienceType();
    if (type === 'segment') {
      var label = describe();
      return label
        ? { type: 'segment', condition: condition(), label: label }
        : { type: 'segment', condition: condition() };
    }
    return { type: type };
  }

  // the live count: debounced, and only the latest answer is shown
  var countTimer = null;
  var countCalls = 0;
  var lastCount = null;
  function changed() {
    var summary = document.getElementById('segment-summary');
    if (summary) summary.textContent = describe() || '(未設定)';
    lastCount = null;
    clearTimeout(countTimer);
    countTimer = setTimeout(count, 300);
  }
  function count() {
    var mine = ++countCalls;
    if (audienceType() === 'segment') {
      if (!catalog) return;
      var missing = incomplete();
      if (missing) {
        countOut.setAttribute('data-count', '');
        T.say(countOut, missing + '。', true);
        return Promise.resolve(null);
      }
    }
    countOut.setAttribute('aria-busy', 'true');
    return T.api('POST', base + '/deliveries/count', { audience: audience() }).then(function (r) {
      if (mine !== countCalls) return null;
      countOut.removeAttribute('aria-busy');
      if (!r.ok) {
        countOut.setAttribute('data-count', '');
        T.say(countOut, '人数を数えられませんでした: ' + T.errorText(r), true);
        return null;
      }
      lastCount = r.body.count;
      countOut.setAttribute('data-count', String(r.body.count));
      T.say(countOut, 'この条件で届く人数: ' + nf(r.body.count) + ' 人');
      return r.body.count;
    });
  }

  function audienceChanged() {
    var type = audienceType();
    sendMethodBox.hidden = type !== 'all';
    builder.hidden = type !== 'segment';
    if (type === 'segment') renderBuilder();
    changed();
  }
  form.querySelectorAll('input[name=audienceType]').forEach(function (r) {
    r.addEventListener('change', audienceChanged);
  });

  // ------------------------------------------------------------------ options and sending
  var result = document.getElementById('composer-result');
  var submitButton = document.getElementById('submit-button');
  var bucketField = document.getElementById('bucket-field');
  var sendLabels = { draft: '下書き保存', now: 'すぐに送る', schedule: '予約する' };
  var sendValue = function () {
    return form.querySelector('input[name=send]:checked').value;
  };
  var syncOptions = function () {
    submitButton.textContent = sendLabels[sendValue()];
    bucketField.hidden = !form.elements.trackClicks.checked;
  };
  form.addEventListener('change', function (e) {
    if (e.target.name === 'send' || e.target.name === 'trackClicks') syncOptions();
    if (e.target.name === 'scheduledAt' && e.target.value) {
      form.querySelector('input[name=send][value=schedule]').checked = true;
      syncOptions();
    }
  });

  function payload(send) {
    var f = form.elements;
    var a = audience();
    var b = {
      title: f.title.value,
      messages: messagesPayload(),
      audience: a,
      notificationDisabled: f.notificationDisabled.checked,
      trackClicks: f.trackClicks.checked,
      send: send,
    };
    if (a.type === 'all') b.sendMethod = form.querySelector('input[name=sendMethod]:checked').value;
    if (b.trackClicks && f.clickBucket.value) b.clickBucket = f.clickBucket.value;
    if (send === 'schedule' && f.scheduledAt.value) b.scheduledAt = f.scheduledAt.value;
    return b;
  }

  /** Shows the API's errors next to their fields; segment paths go to the audience box. */
  function showErrors(r) {
    var err = r.body && r.body.error;
    if (err && Array.isArray(err.details)) {
      err.details.forEach(function (d) {
        if (/^audience\./.test(d.field || '')) d.field = 'audience';
        if (localErrors[d.field]) d.message = localErrors[d.field];
      });
    }
    T.showErrors(form, r);
  }

  var busy = function (button, on) {
    button.disabled = on;
    if (on) button.setAttribute('aria-busy', 'true');
    else button.removeAttribute('aria-busy');
  };

  document.getElementById('validate-button').addEventListener('click', function () {
    var button = this;
    busy(button, true);
    T.say(result, '確認中…');
    T.api('POST', base + '/deliveries/validate', payload(sendValue())).then(function (r) {
      busy(button, false);
      if (r.ok) {
        T.clearErrors(form);
        T.say(result, '問題は見つかりませんでした (メッセージ ' + r.body.messages + ' 件、LINE の検証も通過)。');
      } else {
        showErrors(r);
        T.say(result, '直すところがあります。赤く表示された項目を確認してください。', true);
      }
    });
  });

  var preview = document.getElementById('preview');
  document.getElementById('preview-button').addEventListener('click', function () {
    var button = this;
    busy(button, true);
    preview.setAttribute('aria-busy', 'true');
    T.api('POST', base + '/deliveries/preview', { messages: messagesPayload() }).then(function (r) {
      busy(button, false);
      preview.removeAttribute('aria-busy');
      if (!r.ok) {
        showErrors(r);
        preview.textContent = '';
        preview.appendChild(el('p', { class: 'error', text: 'プレビューできません: 内容に誤りがあります。' }));
        return;
      }
      T.clearErrors(form);
      preview.innerHTML = r.body.html; // the server escaped every text in it
      preview.querySelectorAll('a').forEach(function (a) {
        a.setAttribute('target', '_blank');
      });
      preview.querySelectorAll('img').forEach(function (img) {
        img.addEventListener('error', function () {
          img.replaceWith(el('span', { class: 'img-missing', text: '[' + (img.alt || '画像') + 'を表示できません]' }));
        });
      });
      preview.prepend(el('div', { class: 'phone-bar', text: form.getAttribute('data-tenant-name') || '' }));
      preview.appendChild(
        el('p', { class: 'note notification' }, ['通知に表示される文: ', el('q', { text: r.body.notificationText })]),
      );
      T.say(result, 'プレビューを表示しました。');
    });
  });

  document.getElementById('test-send-button').addEventListener('click', function () {
    var button = this;
    var f = form.elements;
    busy(button, true);
    T.say(result, 'テスト端末に送信中…');
    T.api('POST', base + '/deliveries/test-send', {
      title: f.title.value.trim() || 'テスト配信',
      messages: messagesPayload(),
      notificationDisabled: f.notificationDisabled.checked,
    }).then(function (r) {
      if (!r.ok) {
        busy(button, false);
        if (r.body && r.body.error && Array.isArray(r.body.error.details)) showErrors(r);
        T.say(result, 'テスト送信できませんでした: ' + T.errorText(r), true);
        return;
      }
      T.clearErrors(form);
      if (window.tayoriReloadDeliveries) window.tayoriReloadDeliveries();
      return T.api('GET', base + '/test-devices').then(function (d) {
        var n = d.ok ? (d.body.devices || []).length : testDevices;
        T.say(result, 'テスト端末 ' + nf(n) + ' 台に送信しました (本番の配信には数えません)。');
        busy(button, false);
      });
    });
  });

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var send = sendValue();
    var go = function () {
      busy(submitButton, true);
      T.say(result, '送信中…');
      var editingId = editing && editing.id;
      var call = editingId
        ? T.api('PUT', base + '/deliveries/' + encodeURIComponent(editingId), payload(send))
        : T.api('POST', base + '/deliveries', payload(send));
      call.then(function (r) {
        busy(submitButton, false);
        if (r.ok) {
          T.clearErrors(form);
          T.say(
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
          form.elements.title.value = '';
          state.messages = [newMessage()];
          renderMessages();
          preview.textContent = '';
          preview.appendChild(
            el('p', { class: 'note', text: '「プレビュー」を押すと、ここにトーク画面のように表示されます。' }),
          );
          if (window.tayoriReloadDeliveries) window.tayoriReloadDeliveries();
        } else {
          showErrors(r);
          T.say(result, '保存できませんでした: 赤く表示された項目を確認してください。', true);
        }
      });
    };
    if (send !== 'now') return go();
    // すぐに送る: confirm with how many residents it reaches now
    clearTimeout(countTimer);
    var counted = lastCount !== null ? Promise.resolve(lastCount) : count();
    Promise.resolve(counted).then(function (n) {
      var who =
        audienceType() === 'all'
          ? 'すべての友だち'
          : audienceType() === 'test'
            ? 'テスト端末'
            : 'セグメント (' + (describe() || '条件') + ')';
      var text =
        '「' +
        (form.elements.title.value || '(件名なし)') +
        '」を ' +
        who +
        ' に今すぐ送ります。\n届く人数: ' +
        (n === null || n === undefined ? '不明' : nf(n) + ' 人') +
        '\n\nよろしいですか?';
      if (window.confirm(text)) go();
      else T.say(result, '送信を中止しました。');
    });
  });

  // ------------------------------------------------------------------ reopening a draft
  var editing = null; // { id, title } of the draft being changed (saved with PUT, same id)
  var editNote = el('p', { class: 'editing-note', id: 'composer-editing', hidden: true });
  form.insertBefore(editNote, form.querySelector('.form-summary').nextSibling);
  function setEditing(d) {
    editing = d;
    editNote.textContent = '';
    editNote.hidden = !d;
    if (!d) return;
    editNote.appendChild(
      document.createTextNode('下書き「' + d.title + '」を編集しています。保存すると同じ下書きが更新されます。 '),
    );
    editNote.appendChild(
      el('button', {
        type: 'button',
        class: 'secondary small',
        text: '新しい配信にする',
        onclick: function () {
          setEditing(null);
          T.say(result, '新しい配信として作成します (元の下書きはそのまま残ります)。');
        },
      }),
    );
  }

  /** The builder's state from a condition it built: groups of conditions under one AND / OR. */
  function segmentOf(c) {
    var isLeaf = function (x) {
      return x && (x.attr !== undefined || (x.not && x.not.attr !== undefined));
    };
    var cond = function (x) {
      var not = !!x.not;
      var l = not ? x.not : x;
      return {
        attr: l.attr,
        op: l.op,
        values: (l.values || []).slice(),
        min: l.min === undefined ? '' : String(l.min),
        max: l.max === undefined ? '' : String(l.max),
        not: not,
      };
    };
    var group = function (x) {
      var not = false;
      if (x.not && !isLeaf(x)) {
        not = true;
        x = x.not;
      }
      if (isLeaf(x)) return { op: 'and', not: not, conds: [cond(x)] };
      var kids = x.and || x.or;
      if (!kids || !kids.every(isLeaf)) return null;
      return { op: x.and ? 'and' : 'or', not: not, conds: kids.map(cond) };
    };
    var kids = c.and || c.or;
    if (kids && !kids.every(isLeaf)) {
      var groups = kids.map(group);
      return groups.every(Boolean) ? { op: c.and ? 'and' : 'or', groups: groups } : null;
    }
    var g = group(c);
    return g ? { op: 'and', groups: [g] } : null;
  }

  /** Opens a draft in the composer: its contents, audience and options, saved back to it. */
  function load(id) {
    T.say(result, '下書きを読み込んでいます…');
    return T.api('GET', base + '/deliveries/' + encodeURIComponent(id)).then(function (r) {
      if (!r.ok) {
        T.say(result, '下書きを開けませんでした: ' + T.errorText(r), true);
        return;
      }
      var d = r.body;
      if (d.status !== 'draft') {
        T.say(result, 'この配信は下書きではないため編集できません。', true);
        return;
      }
      var f = form.elements;
      var links = d.links || [];
      var unlink = function (t) {
        return String(t).replace(/\{\{link:(\d+)\}\}/g, function (_, n) {
          return links[Number(n)] || '';
        });
      };
      state.messages = (d.messages || []).map(function (m) {
        var x = newMessage();
        x.type = m.type;
        if (m.type === 'text') x.text = unlink(m.text);
        if (m.type === 'sticker') {
          x.packageId = m.packageId;
          x.stickerId = m.stickerId;
        }
        if (m.type === 'image' || m.type === 'video') {
          x.originalContentUrl = m.originalContentUrl;
          x.previewImageUrl = m.previewImageUrl;
          x.trackingId = m.trackingId || '';
        }
        if (m.type === 'flex') {
          x.altText = m.altText;
          x.contents = JSON.stringify(m.contents, null, 2);
        }
        return x;
      });
      if (!state.messages.length) state.messages = [newMessage()];
      f.title.value = d.title;
      f.notificationDisabled.checked = !!d.notificationDisabled;
      f.trackClicks.checked = links.length > 0;
      f.clickBucket.value = d.clickBucket || '';
      var a = d.audience || { type: 'all' };
      var seg = a.type === 'segment' ? segmentOf(a.condition) : null;
      if (a.type === 'segment' && !seg) {
        T.say(result, 'この下書きのセグメントは画面の条件組み立てでは表せません。API で変更してください。', true);
        return;
      }
      if (seg) state.segment = seg;
      form.querySelector('input[name=audienceType][value=' + a.type + ']').checked = true;
      if (a.type === 'all')
        form.querySelector('input[name=sendMethod][value=' + (d.sendMethod || 'broadcast') + ']').checked = true;
      form.querySelector('input[name=send][value=draft]').checked = true;
      T.clearErrors(form);
      renderMessages();
      syncOptions();
      audienceChanged();
      setEditing({ id: d.id, title: d.title });
      T.say(result, '下書き「' + d.title + '」を開きました。');
      f.title.focus();
    });
  }

  renderMessages();
  syncOptions();
  audienceChanged();
  loadCatalog().then(function () {
    if (audienceType() === 'segment') renderBuilder();
    changed();
  });
  window.tayoriComposer = { audience: audience, load: load };
})();
