// 課題管理表: the log with filters, raising and editing an entry (with a note), and its history field by field.
(function () {
  'use strict';
  var T = window.Tayori;
  var table = document.getElementById('issues');
  if (!T || !table) return;
  var el = T.el;
  var tbody = table.tBodies[0];
  var status = document.getElementById('issue-status');
  var historyBox = document.getElementById('issue-history');
  var editor = document.getElementById('issue-editor');
  var form = document.getElementById('issue-form');
  var canManage = T.data.canManage;
  // the column names of the log
  var LABELS = {
    tenantId: '市町',
    raisedOn: '起票日',
    category: '分類',
    description: '内容',
    response: '対応',
    owner: '担当',
    status: '状況',
    dueOn: '期限',
    resolvedOn: '完了日',
  };
  var ACTIONS = { created: '起票', updated: '変更', deleted: '削除' };
  var issues = {};
  var editing = null;
  var openHistory = null;

  var query = T.bindFilters(document.getElementById('issue-filter'), function () {
    load();
  });
  var slash = function (d) {
    return d ? d.replace(/-/g, '/') : '';
  };
  var dateCell = function (d, cls) {
    return el('td', { class: cls, title: d ? T.wareki(d) : null, text: d ? slash(d) : '—' });
  };

  var fetchList = T.loader(tbody, '課題管理表', function (text) {
    return el('tr', {}, [el('td', { colspan: '11', class: 'error', role: 'alert', text: text })]);
  });
  function load() {
    var q = query();
    return fetchList('/api/v1/issues' + (q ? '?' + q : '')).then(function (body) {
      if (!body) return;
      issues = {};
      var today = T.todayTokyo();
      var list = body.issues.slice().sort(function (a, b) {
        return a.no - b.no;
      });
      if (!list.length)
        tbody.appendChild(
          el('tr', {}, [el('td', { colspan: '11', class: 'note', text: '条件に合う課題はありません。' })]),
        );
      list.forEach(function (i) {
        issues[i.id] = i;
        var overdue = i.status !== '完了' && i.dueOn && i.dueOn < today;
        var actions = el('td', {}, [
          canManage
            ? el('button', {
                type: 'button',
                class: 'secondary',
                'aria-label': 'No.' + i.no + ' を編集',
                text: '編集',
                onclick: function () {
                  openEditor(i);
                },
              })
            : null,
          ' ',
          el('button', {
            type: 'button',
            class: 'secondary',
            'aria-label': 'No.' + i.no + ' の変更履歴',
            text: '履歴',
            onclick: function () {
              history(i, true);
            },
          }),
        ]);
        var due = dateCell(i.dueOn, 'due');
        if (overdue) due.appendChild(el('span', { text: ' (期限切れ)' }));
        tbody.appendChild(
          el('tr', { 'data-id': i.id, 'data-no': String(i.no), class: overdue ? 'overdue' : null }, [
            el('td', { class: 'num', text: String(i.no) }),
            el('td', { text: T.tenantName(i.tenantId) }),
            dateCell(i.raisedOn),
            el('td', { text: i.category }),
            el('td', { class: 'wrap', text: i.description }),
            el('td', { class: 'wrap', text: i.response || '—' }),
            el('td', { text: i.owner || '—' }),
            el('td', {}, [el('span', { class: 'badge s-' + i.status, text: i.status })]),
            due,
            dateCell(i.resolvedOn),
            actions,
          ]),
        );
      });
      if (openHistory && issues[openHistory]) history(issues[openHistory], false);
    });
  }

  function shown(field, v) {
    if (v === null || v === undefined || v === '') return '(なし)';
    if (field === 'tenantId') return T.tenantName(v);
    if (/On$/.test(field)) return slash(v);
    return String(v);
  }

  function history(i, focus) {
    openHistory = i.id;
    historyBox.textContent = '';
    historyBox.appendChild(
      el('div', { class: 'detail-head' }, [
        el('h2', { id: 'issue-history-title', text: 'No.' + i.no + ' (' + T.tenantName(i.tenantId) + ') の変更履歴' }),
        el('div', { class: 'actions' }, [
          el('button', {
            type: 'button',
            class: 'secondary',
            text: '閉じる',
            onclick: function () {
              historyBox.hidden = true;
              openHistory = null;
            },
          }),
        ]),
      ]),
    );
    var box = el('div', { class: 'history', text: '読み込み中…' });
    historyBox.appendChild(box);
    historyBox.hidden = false;
    if (focus) historyBox.focus();
    T.api('GET', '/api/v1/issues/' + i.id + '/history').then(function (r) {
      box.textContent = '';
      if (!r.ok) {
        box.appendChild(el('p', { class: 'error', role: 'alert', text: T.errorText(r) }));
        return;
      }
      var entries = r.body.history.slice().sort(function (a, b) {
        return b.version - a.version;
      });
      var tb = el('tbody');
      entries.forEach(function (h) {
        var changes = (h.changes || []).filter(function (c) {
          return h.action !== 'created' || (c.to !== null && c.to !== '');
        });
        var n = Math.max(1, changes.length);
        var head = [
          el('td', { rowspan: String(n), text: T.dateTime(h.changedAt) }),
          el('td', { rowspan: String(n), text: h.changedBy }),
          el('td', { rowspan: String(n), text: ACTIONS[h.action] || h.action }),
        ];
        var tail = el('td', { rowspan: String(n), class: 'wrap', text: h.note || '' });
        if (!changes.length) {
          tb.appendChild(el('tr', {}, head.concat([el('td', { colspan: '3', text: '—' }), tail])));
          return;
        }
        changes.forEach(function (c, k) {
          var cells = [
            el('th', { scope: 'row', text: LABELS[c.field] || c.label }),
            el('td', {
              class: 'wrap' + (c.from === null || c.from === '' ? '' : ' from'),
              text: h.action === 'created' ? '' : shown(c.field, c.from),
            }),
            el('td', { class: 'wrap', text: shown(c.field, c.to) }),
          ];
          tb.appendChild(el('tr', {}, k === 0 ? head.concat(cells, [tail]) : cells));
        });
      });
      box.appendChild(
        el('table', { 'aria-labelledby': 'issue-history-title' }, [
          el('thead', {}, [
            el(
              'tr',
              {},
              ['日時', '変更者', '操作', '項目', '変更前', '変更後', '変更の理由'].map(function (h) {
                return el('th', { scope: 'col', text: h });
              }),
            ),
          ]),
          tb,
        ]),
      );
    });
  }

  var openEditor = function () {};
  if (form) {
    var note = document.getElementById('i-note').closest('.field');
    var FIELDS = [
      'tenantId',
      'raisedOn',
      'category',
      'description',
      'response',
      'owner',
      'status',
      'dueOn',
      'resolvedOn',
    ];
    var fill = function (i) {
      editing = i || null;
      T.clearErrors(form);
      form.reset();
      var f = form.elements;
      document.getElementById('issue-editor-title').textContent = i ? 'No.' + i.no + ' を編集' : '課題を起票する';
      document.getElementById('issue-save').textContent = i ? '変更を保存' : '起票する';
      note.hidden = !i;
      if (i)
        FIELDS.forEach(function (k) {
          f[k].value = i[k] === null ? '' : i[k];
        });
      else {
        f.raisedOn.value = T.todayTokyo();
        if (T.data.ownTenant) f.tenantId.value = T.data.ownTenant;
      }
      editor.hidden = false;
      (i ? f.response : f.tenantId).focus();
    };
    // an edit starts from the entry as stored now (the list may be older), so its version is current
    openEditor = function (i) {
      if (!i) {
        fill(null);
        return;
      }
      T.api('GET', '/api/v1/issues/' + i.id).then(function (r) {
        if (!r.ok) {
          T.say(status, T.errorText(r), true);
          return;
        }
        fill(r.body);
      });
    };
    document.getElementById('issue-new').addEventListener('click', function () {
      openEditor(null);
    });
    document.getElementById('issue-cancel').addEventListener('click', function () {
      editor.hidden = true;
      editing = null;
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      T.say(status, '');
      T.clearErrors(form);
      var f = form.elements;
      var v = {};
      FIELDS.forEach(function (k) {
        v[k] = f[k].value.trim();
      });
      ['dueOn', 'resolvedOn'].forEach(function (k) {
        v[k] = v[k] || null;
      });
      var req;
      if (editing) {
        var patch = { version: editing.version, note: f.note.value.trim() };
        FIELDS.forEach(function (k) {
          if ((editing[k] === null ? null : String(editing[k])) !== v[k]) patch[k] = v[k];
        });
        req = T.api('PATCH', '/api/v1/issues/' + editing.id, patch);
      } else {
        if (!v.raisedOn) delete v.raisedOn;
        req = T.api('POST', '/api/v1/issues', v);
      }
      var save = document.getElementById('issue-save');
      save.disabled = true;
      var wasEditing = editing;
      req.then(function (r) {
        save.disabled = false;
        if (!r.ok) {
          T.showErrors(form, r);
          return;
        }
        T.say(
          status,
          wasEditing ? 'No.' + r.body.no + ' の変更を保存しました。' : 'No.' + r.body.no + ' を起票しました。',
        );
        editor.hidden = true;
        editing = null;
        load().then(function () {
          var row = tbody.querySelector('tr[data-id="' + r.body.id + '"]');
          if (row) row.classList.add('highlight');
        });
      });
    });
  }

  load();
})();
