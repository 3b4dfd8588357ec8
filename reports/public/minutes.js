// 議事録: the month-by-month list, a record with its history, and the draft editor (reports' API).
(function () {
  'use strict';
  var T = window.Tayori;
  var list = document.getElementById('minutes-list');
  if (!T || !list) return;
  var el = T.el;
  var status = document.getElementById('minutes-status');
  var detail = document.getElementById('minutes-detail');
  var editor = document.getElementById('minutes-editor');
  var form = document.getElementById('minutes-form');
  var canManage = T.data.canManage;
  var ACTIONS = { created: '作成', updated: '更新', approved: '承認', reopened: '差し戻し', deleted: '削除' };
  var FIELDS = {
    heldAt: '開始日時',
    endedAt: '終了日時',
    kind: '種別',
    title: '件名',
    place: '場所',
    tenantIds: '関係団体',
    attendees: '出席者',
    agenda: '議題',
    discussion: '協議内容',
    decisions: '決定事項',
    actionItems: '対応事項',
  };
  var records = {};
  var editing = null; // the record being edited, or null for a new draft
  var openId = null;

  var query = T.bindFilters(document.getElementById('minutes-filter'), function () {
    load();
  });

  function tenantsText(ids) {
    var all = ids.map(T.tenantName);
    return all.length > 4 ? all.slice(0, 3).join('、') + ' ほか' + (all.length - 3) + '団体' : all.join('、');
  }
  function badge(m) {
    return el('span', {
      class: 'badge ' + m.status,
      text: m.statusLabel || (m.status === 'approved' ? '承認済み' : '下書き'),
    });
  }
  function timeRange(m) {
    var end = m.endedAt
      ? '〜' + (m.endedAt.slice(0, 10) === m.heldAt.slice(0, 10) ? m.endedAt.slice(11, 16) : T.dateTime(m.endedAt))
      : '';
    return T.dateTime(m.heldAt) + end;
  }

  // ---- the list, by month --------------------------------------------------------------------------

  var fetchList = T.loader(list, '議事録');
  function load() {
    var q = query();
    return fetchList('/api/v1/minutes' + (q ? '?' + q : '')).then(function (body) {
      if (!body) return;
      records = {};
      var byMonth = {};
      body.minutes.forEach(function (m) {
        records[m.id] = m;
        (byMonth[m.reportMonth] = byMonth[m.reportMonth] || []).push(m);
      });
      var months = Object.keys(byMonth).sort().reverse();
      if (!months.length) list.appendChild(el('p', { class: 'note', text: '条件に合う議事録はありません。' }));
      months.forEach(function (month) {
        var items = byMonth[month].sort(function (a, b) {
          return a.heldAt < b.heldAt ? -1 : 1;
        });
        var due = items[0].reportDue;
        var drafts = items.filter(function (m) {
          return m.status !== 'approved';
        }).length;
        var id = 'month-' + month;
        var section = el('section', { class: 'month-group', 'aria-labelledby': id }, [
          el('h2', { id: id }, [
            T.warekiMonth(month) + '分',
            el('small', {
              text:
                T.seireki(month) +
                (due ? '・提出期限 ' + T.wareki(due) : '') +
                '・' +
                items.length +
                '件' +
                (drafts ? ' (うち下書き ' + drafts + '件)' : ''),
            }),
          ]),
        ]);
        var tbody = el('tbody');
        items.forEach(function (m) {
          tbody.appendChild(
            el('tr', { 'data-id': m.id }, [
              el('td', { text: timeRange(m) }),
              el('td', { text: m.kind }),
              el('td', { class: 'wrap' }, [
                el('button', {
                  type: 'button',
                  class: 'link',
                  text: m.title,
                  onclick: function () {
                    show(m.id, true);
                  },
                }),
              ]),
              el('td', {
                class: 'wrap',
                title: m.tenantIds.map(T.tenantName).join('、'),
                text: tenantsText(m.tenantIds) || '—',
              }),
              el('td', {}, [badge(m)]),
              el('td', { text: T.dateTime(m.updatedAt) + ' ' + m.updatedBy }),
            ]),
          );
        });
        section.appendChild(
          el('div', { class: 'scroll' }, [
            el('table', { 'aria-labelledby': id }, [
              el('thead', {}, [
                el(
                  'tr',
                  {},
                  ['開催日時', '種別', '件名', '関係団体', '状態', '最終更新'].map(function (h) {
                    return el('th', { scope: 'col', text: h });
                  }),
                ),
              ]),
              tbody,
            ]),
          ]),
        );
        list.appendChild(section);
      });
      if (openId && records[openId]) show(openId, false);
    });
  }

  // ---- one record ----------------------------------------------------------------------------------

  function show(id, focus) {
    var m = records[id];
    if (!m) {
      detail.hidden = true;
      openId = null;
      return;
    }
    openId = id;
    detail.textContent = '';
    var buttons = el('div', { class: 'actions' });
    var act = function (label, cls, fn) {
      buttons.appendChild(el('button', { type: 'button', class: cls, text: label, onclick: fn }));
    };
    if (canManage && m.status === 'draft') {
      act('編集', 'secondary', function () {
        // from the record as stored now (the list may be older), so the change is made on its current version
        T.api('GET', '/api/v1/minutes/' + m.id).then(function (r) {
          if (!r.ok) {
            T.say(status, T.errorText(r), true);
            return;
          }
          if (r.body.status !== 'draft') {
            T.say(status, '「' + m.title + '」は承認済みになっています。変更するには差し戻してください。', true);
            load();
            return;
          }
          openEditor(r.body);
        });
      });
      act('承認', '', function () {
        transition(m, 'approve', '承認しました。');
      });
      act('下書きを削除', 'danger', function () {
        if (!window.confirm('下書き「' + m.title + '」を削除します。よろしいですか?')) return;
        T.api('DELETE', '/api/v1/minutes/' + m.id).then(function (r) {
          if (!r.ok) {
            T.say(status, T.errorText(r), true);
            return;
          }
          T.say(status, '「' + m.title + '」を削除しました。');
          detail.hidden = true;
          openId = null;
          load();
        });
      });
    }
    if (canManage && m.status === 'approved') {
      act('差し戻し', 'secondary', function () {
        if (!window.confirm('「' + m.title + '」を下書きに戻します。承認し直すまで帳票には載りません。よろしいですか?'))
          return;
        transition(m, 'reopen', '下書きに差し戻しました。');
      });
    }
    act('変更履歴', 'secondary', function () {
      history(m);
    });
    act('閉じる', 'secondary', function () {
      detail.hidden = true;
      openId = null;
    });
    detail.appendChild(
      el('div', { class: 'detail-head' }, [el('h2', { id: 'minutes-detail-title', text: m.title }), buttons]),
    );
    var dl = el('dl', { class: 'record' });
    var row = function (label, value) {
      dl.appendChild(el('dt', { text: label }));
      dl.appendChild(el('dd', {}, [value]));
    };
    row(
      '状態',
      el('span', {}, [
        badge(m),
        m.status === 'approved' ? ' ' + T.dateTime(m.approvedAt) + ' ' + m.approvedBy + ' が承認' : '',
      ]),
    );
    row('種別', m.kind);
    row('日時', timeRange(m) + ' (' + T.wareki(m.heldAt) + ')');
    row('場所', m.place || '—');
    row('関係団体', m.tenantIds.map(T.tenantName).join('、') || '—');
    row(
      '出席者',
      m.attendees.length
        ? el(
            'ul',
            {},
            m.attendees.map(function (a) {
              return el('li', { text: (a.organization ? a.organization + ' ' : '') + a.name });
            }),
          )
        : '—',
    );
    row(
      '議題',
      m.agenda.length
        ? el(
            'ol',
            {},
            m.agenda.map(function (a) {
              return el('li', { text: a });
            }),
          )
        : '—',
    );
    row('協議内容', m.discussion || '—');
    row(
      '決定事項',
      m.decisions.length
        ? el(
            'ol',
            {},
            m.decisions.map(function (a) {
              return el('li', { text: a });
            }),
          )
        : '—',
    );
    row(
      '対応事項',
      m.actionItems.length
        ? el('table', {}, [
            el('thead', {}, [
              el(
                'tr',
                {},
                ['対応事項', '担当', '期限'].map(function (h) {
                  return el('th', { scope: 'col', text: h });
                }),
              ),
            ]),
            el(
              'tbody',
              {},
              m.actionItems.map(function (a) {
                return el('tr', {}, [
                  el('td', { class: 'wrap', text: a.task }),
                  el('td', { text: a.owner }),
                  el('td', { text: a.due ? T.wareki(a.due) : '—' }),
                ]);
              }),
            ),
          ])
        : '—',
    );
    row('提出', T.warekiMonth(m.reportMonth) + '分' + (m.reportDue ? '・提出期限 ' + T.wareki(m.reportDue) : ''));
    row(
      '作成・更新',
      T.dateTime(m.createdAt) +
        ' ' +
        m.createdBy +
        ' が作成、' +
        T.dateTime(m.updatedAt) +
        ' ' +
        m.updatedBy +
        ' が更新',
    );
    detail.appendChild(dl);
    detail.appendChild(el('div', { id: 'minutes-history', class: 'history' }));
    detail.hidden = false;
    if (focus) detail.focus();
  }

  function transition(m, verb, done) {
    T.api('POST', '/api/v1/minutes/' + m.id + '/' + verb, { version: m.version }).then(function (r) {
      if (!r.ok) {
        T.say(status, T.errorText(r), true);
        return;
      }
      T.say(status, '「' + m.title + '」を' + done);
      openId = m.id;
      load();
    });
  }

  function history(m) {
    var box = document.getElementById('minutes-history');
    box.textContent = '読み込み中…';
    T.api('GET', '/api/v1/minutes/' + m.id + '/history').then(function (r) {
      box.textContent = '';
      if (!r.ok) {
        box.appendChild(el('p', { class: 'error', role: 'alert', text: T.errorText(r) }));
        return;
      }
      var entries = r.body.history.slice().sort(function (a, b) {
        return a.version - b.version;
      });
      var prev = null;
      var rows = entries.map(function (h) {
        var changed = prev
          ? Object.keys(FIELDS)
              .filter(function (f) {
                return JSON.stringify(prev[f]) !== JSON.stringify(h.record[f]);
              })
              .map(function (f) {
                return FIELDS[f];
              })
          : [];
        prev = h.record;
        return el('tr', {}, [
          el('td', { text: T.dateTime(h.changedAt) }),
          el('td', { text: ACTIONS[h.action] || h.action }),
          el('td', { text: h.changedBy }),
          el('td', { class: 'wrap', text: h.action === 'updated' ? changed.join('、') || '—' : '' }),
        ]);
      });
      box.appendChild(el('h3', { text: '変更履歴 (' + entries.length + '件)' }));
      box.appendChild(
        el('table', { 'aria-label': '「' + m.title + '」の変更履歴' }, [
          el('thead', {}, [
            el(
              'tr',
              {},
              ['日時', '操作', '変更者', '変更した項目'].map(function (h) {
                return el('th', { scope: 'col', text: h });
              }),
            ),
          ]),
          el('tbody', {}, rows.reverse()),
        ]),
      );
    });
  }

  // ---- the editor ----------------------------------------------------------------------------------

  if (form) {
    var rowMakers = {
      attendee: function (i, v) {
        return [
          el('label', {}, [
            '所属',
            el('input', {
              'data-field': 'attendees.' + i + '.organization',
              name: 'organization',
              maxlength: '60',
              value: v.organization || '',
            }),
          ]),
          el('label', {}, [
            '氏名',
            el('input', {
              'data-field': 'attendees.' + i + '.name',
              name: 'name',
              maxlength: '60',
              value: v.name || '',
            }),
          ]),
        ];
      },
      action: function (i, v) {
        return [
          el('label', {}, [
            '対応事項',
            el('input', {
              'data-field': 'actionItems.' + i + '.task',
              name: 'task',
              maxlength: '500',
              value: v.task || '',
            }),
          ]),
          el('label', {}, [
            '担当',
            el('input', {
              'data-field': 'actionItems.' + i + '.owner',
              name: 'owner',
              maxlength: '60',
              value: v.owner || '',
            }),
          ]),
          el('label', {}, [
            '期限',
            el('input', { 'data-field': 'actionItems.' + i + '.due', name: 'due', type: 'date', value: v.due || '' }),
          ]),
        ];
      },
    };
    var NOUN = { attendee: '出席者', action: '対応事項' };
    var renumber = function (set) {
      var prefix = set.getAttribute('data-field');
      set.querySelectorAll('.row').forEach(function (r, i) {
        r.querySelectorAll('[data-field]').forEach(function (c) {
          c.setAttribute('data-field', prefix + '.' + i + '.' + c.name);
        });
        r.querySelector('button').setAttribute(
          'aria-label',
          i + 1 + '件目の' + NOUN[set.getAttribute('data-row')] + 'を削除',
        );
      });
    };
    var addRow = function (set, v, focus) {
      var kind = set.getAttribute('data-row');
      var holder = set.querySelector('.row-list');
      var row = el('div', { class: 'row' }, rowMakers[kind](holder.children.length, v || {}));
      row.appendChild(
        el('button', {
          type: 'button',
          class: 'secondary',
          text: '削除',
          onclick: function () {
            row.remove();
            renumber(set);
          },
        }),
      );
      row.appendChild(el('p', { class: 'field-error', hidden: true }));
      holder.appendChild(row);
      renumber(set);
      if (focus) row.querySelector('input').focus();
    };
    var sets = { attendee: document.getElementById('m-attendees'), action: document.getElementById('m-actionItems') };
    form.querySelectorAll('[data-add]').forEach(function (b) {
      b.addEventListener('click', function () {
        addRow(sets[b.getAttribute('data-add')], {}, true);
      });
    });
    var lines = function (v) {
      return v
        .split('\n')
        .map(function (s) {
          return s.trim();
        })
        .filter(Boolean);
    };
    var rowValues = function (set) {
      return Array.prototype.map
        .call(set.querySelectorAll('.row'), function (r) {
          var o = {};
          r.querySelectorAll('input').forEach(function (c) {
            o[c.name] = c.value.trim();
          });
          return o;
        })
        .filter(function (o) {
          return Object.keys(o).some(function (k) {
            return o[k];
          });
        });
    };
    var values = function () {
      var f = form.elements;
      return {
        title: f.title.value,
        kind: f.kind.value,
        heldAt: f.heldAt.value,
        endedAt: f.endedAt.value || null,
        place: f.place.value,
        tenantIds: Array.prototype.filter
          .call(form.querySelectorAll('input[name=tenantIds]'), function (c) {
            return c.checked;
          })
          .map(function (c) {
            return c.value;
          }),
        attendees: rowValues(sets.attendee),
        agenda: lines(f.agenda.value),
        discussion: f.discussion.value,
        decisions: lines(f.decisions.value),
        actionItems: rowValues(sets.action).map(function (a) {
          return { task: a.task, owner: a.owner, due: a.due || null };
        }),
      };
    };
    var openEditor = function (m) {
      editing = m || null;
      T.clearErrors(form);
      form.reset();
      ['attendee', 'action'].forEach(function (k) {
        sets[k].querySelector('.row-list').textContent = '';
      });
      document.getElementById('minutes-editor-title').textContent = m ? '議事録を編集 (下書き)' : '新しい議事録';
      var f = form.elements;
      form.querySelectorAll('input[name=tenantIds]').forEach(function (c) {
        c.checked = m ? m.tenantIds.indexOf(c.value) >= 0 : c.value === T.data.ownTenant;
      });
      if (m) {
        f.title.value = m.title;
        f.kind.value = m.kind;
        f.heldAt.value = T.localInput(m.heldAt);
        f.endedAt.value = T.localInput(m.endedAt);
        f.place.value = m.place;
        f.agenda.value = m.agenda.join('\n');
        f.discussion.value = m.discussion;
        f.decisions.value = m.decisions.join('\n');
        m.attendees.forEach(function (a) {
          addRow(sets.attendee, a);
        });
        m.actionItems.forEach(function (a) {
          addRow(sets.action, a);
        });
      }
      if (!m || !m.attendees.length) addRow(sets.attendee, {});
      if (!m || !m.actionItems.length) addRow(sets.action, {});
      editor.hidden = false;
      f.title.focus();
    };
    document.getElementById('minutes-new').addEventListener('click', function () {
      openEditor(null);
    });
    document.getElementById('minutes-cancel').addEventListener('click', function () {
      editor.hidden = true;
      editing = null;
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      T.say(status, '');
      T.clearErrors(form);
      var body = values();
      var save = document.getElementById('minutes-save');
      var req;
      if (editing) {
        // only what changed: a municipality account never drops tenants it cannot see
        var was = {
          endedAt: editing.endedAt ? T.localInput(editing.endedAt) : null,
          heldAt: T.localInput(editing.heldAt),
        };
        var patch = { version: editing.version };
        Object.keys(body).forEach(function (k) {
          var before = k in was ? was[k] : editing[k];
          if (JSON.stringify(before) !== JSON.stringify(body[k])) patch[k] = body[k];
        });
        req = T.api('PATCH', '/api/v1/minutes/' + editing.id, patch);
      } else {
        req = T.api('POST', '/api/v1/minutes', body);
      }
      save.disabled = true;
      req.then(function (r) {
        save.disabled = false;
        if (!r.ok) {
          T.showErrors(form, r);
          return;
        }
        T.say(status, '「' + r.body.title + '」の下書きを保存しました。');
        editor.hidden = true;
        editing = null;
        openId = r.body.id;
        load();
      });
    });
  }

  load();
})();
