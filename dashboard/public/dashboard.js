// Tayori dashboard: table sorting, the month and municipality selectors, and the live delivery list
// (charts: charts.js).
(function () {
  'use strict';
  function num(td) {
    var v = td && td.getAttribute('data-v');
    return v === null || v === '' || v === undefined ? null : Number(v);
  }
  // Sortable tables: click a header; unknown values ("—") always sort last.
  document.querySelectorAll('table').forEach(function (table) {
    var heads = table.querySelectorAll('thead th');
    heads.forEach(function (th, col) {
      var kind = th.getAttribute('data-sort');
      if (!kind) return;
      th.tabIndex = 0;
      var sort = function () {
        var dir = th.getAttribute('aria-sort') === 'descending' ? 'ascending' : 'descending';
        heads.forEach(function (h) {
          h.removeAttribute('aria-sort');
        });
        th.setAttribute('aria-sort', dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col],
            y = b.cells[col];
          if (kind === 'text') {
            var s = (x.getAttribute('data-v') || x.textContent).localeCompare(
              y.getAttribute('data-v') || y.textContent,
              'ja',
            );
            return dir === 'ascending' ? s : -s;
          }
          var p = num(x),
            q = num(y);
          if (p === null && q === null) return 0;
          if (p === null) return 1;
          if (q === null) return -1;
          return dir === 'ascending' ? p - q : q - p;
        });
        rows.forEach(function (r) {
          body.appendChild(r);
        });
      };
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          sort();
        }
      });
    });
  });
  // a selector that submits its form when changed (no inline handlers: the CSP forbids them)
  document.querySelectorAll('select[data-submit-on-change]').forEach(function (select) {
    select.addEventListener('change', function () {
      if (select.form) select.form.submit();
    });
  });
  var nav = document.getElementById('tenant-nav');
  if (nav)
    nav.addEventListener('change', function () {
      if (nav.value) location.href = '/municipalities/' + nav.value;
    });
  // The 配信 composer lives in composer.js (it calls window.tayoriReloadDeliveries after a save).
  // A municipality's deliveries with live progress (delivery's API), refreshed while any is sending.
  var live = document.getElementById('live-deliveries');
  if (live) {
    var STATUS = {
      draft: '下書き',
      scheduled: '予約済み',
      queued: '送信待ち',
      sending: '送信中',
      done: '送信済み',
      failed: '失敗',
      cancelled: '取り消し',
    };
    var el = function (tag, text, cls) {
      var e = document.createElement(tag);
      if (text !== undefined) e.textContent = text;
      if (cls) e.className = cls;
      return e;
    };
    var limit = 20;
    var load = function () {
      fetch('/api/v1/tenants/' + live.getAttribute('data-tenant') + '/deliveries?limit=' + limit, {
        credentials: 'same-origin',
      })
        .then(function (res) {
          if (res.status === 404) {
            live.textContent = 'この環境では配信機能が有効になっていません。';
            return null;
          }
          if (!res.ok) {
            live.textContent = '配信一覧を読み込めませんでした (HTTP ' + res.status + ')。';
            return null;
          }
          return res.json();
        })
        .then(function (body) {
          if (!body) return;
          var list = body.deliveries || [];
          live.textContent = '';
          if (!list.length) {
            live.appendChild(el('p', 'まだ配信はありません。', 'note'));
            return;
          }
          var table = el('table');
          var head = el('tr');
          var canDeliver = live.hasAttribute('data-can-deliver');
          ['日時', '件名', '対象', '状態', '送信済み / 対象', '失敗', '開封率', 'クリック']
            .concat(canDeliver ? [''] : [])
            .forEach(function (h) {
              head.appendChild(el('th', h));
            });
          table.appendChild(el('thead')).appendChild(head);
          var tbody = table.appendChild(el('tbody'));
          var active = false;
          list.forEach(function (d) {
            var tr = el('tr');
            tr.appendChild(
              el(
                'td',
                new Date(d.scheduledAt || d.at).toLocaleString('ja-JP', {
                  timeZone: 'Asia/Tokyo',
                  year: 'numeric',
                  month: '2-digit',
                  day: '2-digit',
                  hour: '2-digit',
                  minute: '2-digit',
                }),
              ),
            );
            tr.appendChild(el('td', d.title, 'wrap'));
            tr.appendChild(el('td', d.audienceLabel, 'wrap'));
            tr.appendChild(el('td', STATUS[d.status] || d.status));
            var cell = el('td', null, 'num');
            var bar = el('progress');
            bar.max = Math.max(1, d.targets);
            bar.value = d.accepted;
            cell.appendChild(bar);
            cell.appendChild(
              document.createTextNode(
                ' ' + d.accepted.toLocaleString('ja-JP') + ' / ' + d.targets.toLocaleString('ja-JP'),
              ),
            );
            tr.appendChild(cell);
            tr.appendChild(el('td', d.failed.toLocaleString('ja-JP'), 'num'));
            // LINE's figures, once ingest has fetched them (null: not yet, or fewer than 20 people)
            var sent = d.status === 'done' || d.status === 'failed';
            var base = d.delivered !== null && d.delivered !== undefined ? d.delivered : d.accepted;
            var hidden = 'LINE の統計がまだ届いていないか、20 人未満のため公開されていません';
            var open = el(
              'td',
              !sent
                ? ''
                : d.uniqueImpressions !== null && base > 0
                  ? ((d.uniqueImpressions / base) * 100).toFixed(1) + '%'
                  : '—',
              'num',
            );
            if (sent)
              open.title =
                d.uniqueImpressions !== null && base > 0
                  ? '開封した人 ' +
                    d.uniqueImpressions.toLocaleString('ja-JP') +
                    ' 人 / 届いた人 ' +
                    base.toLocaleString('ja-JP') +
                    ' 人'
                  : hidden;
            tr.appendChild(open);
            var clicks = el('td', !sent ? '' : d.clicks !== null ? d.clicks.toLocaleString('ja-JP') : '—', 'num');
            if (sent && d.clicks === null) clicks.title = hidden;
            if (sent) {
              // Tayori's own count of tracked links, per attribute group (what LINE's statistics cannot show)
              var more = el('button', '内訳');
              more.type = 'button';
              more.className = 'link-button';
              more.setAttribute('aria-label', '「' + d.title + '」のクリック内訳');
              more.setAttribute('aria-expanded', 'false');
              more.addEventListener('click', function () {
                clickBreakdown(d, tr, more);
              });
              clicks.appendChild(document.createTextNode(' '));
              clicks.appendChild(more);
            }
            tr.appendChild(clicks);
            var actions = el('td', undefined, 'row-actions');
            var act = function (label, verb, confirmText) {
              var b = el('button', label);
              b.type = 'button';
              b.addEventListener('click', function () {
                if (!window.confirm(confirmText)) return;
                var meta = document.querySelector('meta[name="csrf-token"]');
                fetch(
                  '/api/v1/tenants/' +
                    live.getAttribute('data-tenant') +
                    '/deliveries/' +
                    encodeURIComponent(d.id) +
                    '/' +
                    verb,
                  {
                    method: 'POST',
                    credentials: 'same-origin',
                    headers: {
                      'content-type': 'application/json',
                      'x-csrf-token': meta ? meta.getAttribute('content') : '',
                    },
                    body: '{}',
                  },
                ).then(function (res) {
                  return res
                    .json()
                    .catch(function () {
                      return {};
                    })
                    .then(function (j) {
                      if (!res.ok) window.alert((j.error && j.error.message) || 'HTTP ' + res.status);
                      load();
                    });
                });
              });
              actions.appendChild(b);
            };
            if (live.hasAttribute('data-can-deliver')) {
              if (d.status === 'draft' && window.tayoriComposer && window.tayoriComposer.load) {
                var edit = el('button', '編集');
                edit.type = 'button';
                edit.setAttribute('aria-label', '「' + d.title + '」を編集');
                edit.addEventListener('click', function () {
                  window.tayoriComposer.load(d.id);
                  var composer = document.getElementById('composer');
                  if (composer) composer.scrollIntoView({ block: 'start' });
                });
                actions.appendChild(edit);
              }
              if (d.status === 'draft')
                act('送信', 'send', '「' + d.title + '」を ' + d.audienceLabel + ' に今すぐ送ります。よろしいですか?');
              if (d.status === 'scheduled') {
                reschedule(d, actions);
                act('予約取り消し', 'cancel', '「' + d.title + '」の予約を取り消します。よろしいですか?');
              }
            }
            if (canDeliver) tr.appendChild(actions);
            tbody.appendChild(tr);
            if (d.status === 'queued' || d.status === 'sending') active = true;
          });
          var scroll = el('div', undefined, 'scroll');
          scroll.appendChild(table);
          live.appendChild(scroll);
          if (list.length >= limit) {
            // older deliveries, 20 more at a time (all of them: 配信一覧 (CSV))
            var more = el('button', 'さらに表示 (次の 20 件)');
            more.type = 'button';
            more.id = 'more-deliveries';
            more.className = 'secondary';
            more.addEventListener('click', function () {
              limit += 20;
              load();
            });
            live.appendChild(el('p')).appendChild(more);
          }
          // refreshed while something is sending, but not under a form or a breakdown someone has open
          if (active)
            setTimeout(function again() {
              if (live.querySelector('form.reschedule, tr.breakdown')) setTimeout(again, 3000);
              else load();
            }, 3000);
        })
        .catch(function () {
          live.textContent = '配信一覧を読み込めませんでした。';
        });
    };
    var GENDER = { female: '女性', male: '男性', other: 'その他・回答しない' };
    var BY = { gender: '性別', age: '年代', residence: 'お住まい' };
    var areaNames = null;
    /** A click bucket in words: 女性, 1970年代生まれ, an area's name, 未回答, or すべて (no split). */
    var bucketText = function (by, bucket) {
      if (bucket === '') return 'すべて';
      if (bucket === 'unknown') return '未回答';
      if (by === 'gender') return GENDER[bucket] || bucket;
      if (by === 'age') return bucket + '年代生まれ';
      if (by === 'residence') return (areaNames && areaNames[bucket]) || bucket;
      return bucket;
    };
    /** クリック内訳: clicks per tracked link and attribute group, in a row under the delivery's (toggles). */
    var clickBreakdown = function (d, tr, button) {
      var next = tr.nextSibling;
      if (next && next.classList && next.classList.contains('breakdown')) {
        next.parentNode.removeChild(next);
        button.setAttribute('aria-expanded', 'false');
        return;
      }
      var row = el('tr', null, 'breakdown');
      var cell = el('td', '読み込み中…');
      cell.colSpan = tr.children.length;
      row.appendChild(cell);
      tr.parentNode.insertBefore(row, tr.nextSibling);
      button.setAttribute('aria-expanded', 'true');
      var api = '/api/v1/tenants/' + live.getAttribute('data-tenant');
      Promise.all([
        fetch(api + '/deliveries/' + encodeURIComponent(d.id) + '/clicks', { credentials: 'same-origin' }).then(
          function (r) {
            return r.ok ? r.json() : null;
          },
        ),
        areaNames
          ? null
          : fetch(api + '/categories', { credentials: 'same-origin' }).then(function (r) {
              return r.ok ? r.json() : null;
            }),
      ])
        .then(function (rs) {
          if (rs[1]) {
            areaNames = {};
            (rs[1].categories || []).forEach(function (c) {
              if (c.parentId === '@area') areaNames[c.id] = c.name;
            });
          }
          var info = rs[0];
          cell.textContent = '';
          if (!info) {
            cell.textContent = 'クリック内訳を読み込めませんでした。';
            return;
          }
          if (!info.links.length) {
            cell.textContent =
              'この配信はクリック計測をしていません (本文に URL がないか、計測をオフにして送りました)。';
            return;
          }
          var by = info.clickBucket;
          cell.appendChild(
            el(
              'p',
              'Tayori のリンク (/r/…) で数えたクリック数' +
                (by ? ' (' + BY[by] + '別)' : '') +
                '。同じ接続元から同じリンクを 1 分以内に何度押しても 1 回と数えます。',
              'note',
            ),
          );
          var t = el('table');
          var h = el('tr');
          ['リンク', by ? BY[by] : '対象', 'クリック数'].forEach(function (x) {
            h.appendChild(el('th', x));
          });
          t.appendChild(el('thead')).appendChild(h);
          var body = t.appendChild(el('tbody'));
          info.clicks.forEach(function (c) {
            var r = el('tr');
            r.appendChild(el('td', c.url, 'wrap'));
            r.appendChild(el('td', bucketText(by, c.bucket)));
            r.appendChild(el('td', c.clicks.toLocaleString('ja-JP'), 'num'));
            body.appendChild(r);
          });
          cell.appendChild(t);
        })
        .catch(function () {
          cell.textContent = 'クリック内訳を読み込めませんでした。';
        });
    };
    /** 日時を変更: an inline date-time field for a scheduled delivery (Japan time), saved through /schedule. */
    var reschedule = function (d, cell) {
      var open = el('button', '日時を変更');
      open.type = 'button';
      open.setAttribute('aria-label', '「' + d.title + '」の予約日時を変更');
      open.addEventListener('click', function () {
        var form = el('form', null, 'reschedule');
        var id = 'when-' + d.id;
        var label = el('label', '新しい日時 (日本時間)');
        label.htmlFor = id;
        label.className = 'sr';
        var input = el('input');
        input.type = 'datetime-local';
        input.id = id;
        input.required = true;
        // the current time, as Japan time in the field's format
        input.value = new Date(d.scheduledAt + 9 * 3600000).toISOString().slice(0, 16);
        var save = el('button', '保存');
        save.type = 'submit';
        var cancel = el('button', 'やめる');
        cancel.type = 'button';
        cancel.className = 'secondary';
        var msg = el('p', '', 'field-error');
        msg.setAttribute('role', 'alert');
        msg.hidden = true;
        cancel.addEventListener('click', load);
        form.addEventListener('submit', function (e) {
          e.preventDefault();
          var meta = document.querySelector('meta[name="csrf-token"]');
          fetch(
            '/api/v1/tenants/' +
              live.getAttribute('data-tenant') +
              '/deliveries/' +
              encodeURIComponent(d.id) +
              '/schedule',
            {
              method: 'POST',
              credentials: 'same-origin',
              headers: { 'content-type': 'application/json', 'x-csrf-token': meta ? meta.getAttribute('content') : '' },
              body: JSON.stringify({ scheduledAt: input.value }),
            },
          ).then(
            function (res) {
              return res
                .json()
                .catch(function () {
                  return {};
                })
                .then(function (j) {
                  if (res.ok) {
                    load();
                    return;
                  }
                  var details = j.error && j.error.details;
                  msg.textContent =
                    details && details.length
                      ? details
                          .map(function (x) {
                            return x.message;
                          })
                          .join(' ')
                      : (j.error && j.error.message) || 'HTTP ' + res.status;
                  msg.hidden = false;
                  input.focus();
                });
            },
            function () {
              msg.textContent = 'サーバーに接続できませんでした。ネットワークを確認してください。';
              msg.hidden = false;
            },
          );
        });
        [label, input, save, cancel, msg].forEach(function (x) {
          form.appendChild(x);
          form.appendChild(document.createTextNode(' '));
        });
        cell.textContent = '';
        cell.appendChild(form);
        input.focus();
      });
      cell.appendChild(open);
    };
    window.tayoriReloadDeliveries = load;
    load();
  }
})();
