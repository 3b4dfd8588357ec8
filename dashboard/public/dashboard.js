// Tayori dashboard: table sorting, sparklines and charts from the options the server embedded.
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
        heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          if (kind === 'text') {
            var s = (x.getAttribute('data-v') || x.textContent).localeCompare(y.getAttribute('data-v') || y.textContent, 'ja');
            return dir === 'ascending' ? s : -s;
          }
          var p = num(x), q = num(y);
          if (p === null && q === null) return 0;
          if (p === null) return 1;
          if (q === null) return -1;
          return dir === 'ascending' ? p - q : q - p;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      };
      th.addEventListener('click', sort);
      th.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
    });
  });
  var nav = document.getElementById('tenant-nav');
  if (nav) nav.addEventListener('change', function () { if (nav.value) location.href = '/municipalities/' + nav.value; });
  // The 配信 composer lives in composer.js (it calls window.tayoriReloadDeliveries after a save).
  // A municipality's deliveries with live progress (delivery's API), refreshed while any is sending.
  var live = document.getElementById('live-deliveries');
  if (live) {
    var STATUS = { draft: '下書き', scheduled: '予約済み', queued: '送信待ち', sending: '送信中', done: '完了', failed: '失敗', cancelled: '取り消し' };
    var el = function (tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
    var load = function () {
      fetch('/api/v1/tenants/' + live.getAttribute('data-tenant') + '/deliveries?limit=20', { credentials: 'same-origin' })
        .then(function (res) {
          if (res.status === 404) { live.textContent = 'この環境では配信機能が有効になっていません。'; return null; }
          if (!res.ok) { live.textContent = '配信一覧を読み込めませんでした (HTTP ' + res.status + ')。'; return null; }
          return res.json();
        })
        .then(function (body) {
          if (!body) return;
          var list = body.deliveries || [];
          live.textContent = '';
          if (!list.length) { live.appendChild(el('p', 'まだ配信はありません。', 'note')); return; }
          var table = el('table'); var head = el('tr');
          ['日時', '件名', '対象', '状態', '送信済み / 対象', '失敗', ''].forEach(function (h) { head.appendChild(el('th', h)); });
          table.appendChild(el('thead')).appendChild(head);
          var tbody = table.appendChild(el('tbody'));
          var active = false;
          list.forEach(function (d) {
            var tr = el('tr');
            tr.appendChild(el('td', new Date(d.scheduledAt || d.at).toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo' })));
            tr.appendChild(el('td', d.title));
            tr.appendChild(el('td', d.audienceLabel));
            tr.appendChild(el('td', STATUS[d.status] || d.status));
            var cell = el('td', null, 'num');
            var bar = el('progress'); bar.max = Math.max(1, d.targets); bar.value = d.accepted;
            cell.appendChild(bar);
            cell.appendChild(document.createTextNode(' ' + d.accepted.toLocaleString('ja-JP') + ' / ' + d.targets.toLocaleString('ja-JP')));
            tr.appendChild(cell);
            tr.appendChild(el('td', d.failed.toLocaleString('ja-JP'), 'num'));
            var actions = el('td');
            var act = function (label, verb, confirmText) {
              var b = el('button', label); b.type = 'button';
              b.addEventListener('click', function () {
                if (!window.confirm(confirmText)) return;
                var meta = document.querySelector('meta[name="csrf-token"]');
                fetch('/api/v1/tenants/' + live.getAttribute('data-tenant') + '/deliveries/' + encodeURIComponent(d.id) + '/' + verb, {
                  method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', 'x-csrf-token': meta ? meta.getAttribute('content') : '' }, body: '{}',
                }).then(function (res) { return res.json().catch(function () { return {}; }).then(function (j) { if (!res.ok) window.alert((j.error && j.error.message) || ('HTTP ' + res.status)); load(); }); });
              });
              actions.appendChild(b);
            };
            if (live.hasAttribute('data-can-deliver')) {
              if (d.status === 'draft' && window.tayoriComposer && window.tayoriComposer.load) {
                var edit = el('button', '編集'); edit.type = 'button';
                edit.setAttribute('aria-label', '「' + d.title + '」を編集');
                edit.addEventListener('click', function () {
                  window.tayoriComposer.load(d.id);
                  var composer = document.getElementById('composer');
                  if (composer) composer.scrollIntoView({ block: 'start' });
                });
                actions.appendChild(edit);
              }
              if (d.status === 'draft') act('送信', 'send', '「' + d.title + '」を ' + d.audienceLabel + ' に今すぐ送ります。よろしいですか?');
              if (d.status === 'scheduled') act('予約取り消し', 'cancel', '「' + d.title + '」の予約を取り消します。よろしいですか?');
            }
            tr.appendChild(actions);
            tbody.appendChild(tr);
            if (d.status === 'queued' || d.status === 'sending') active = true;
          });
          live.appendChild(table);
          if (active) setTimeout(load, 3000);
        })
        .catch(function () { live.textContent = '配信一覧を読み込めませんでした。'; });
    };
    window.tayoriReloadDeliveries = load;
    load();
  }
  if (typeof ApexCharts === 'undefined') return;
  document.querySelectorAll('[data-spark]').forEach(function (el) {
    try { new ApexCharts(el, JSON.parse(el.getAttribute('data-spark'))).render(); } catch (e) { console.error(e); }
  });
  var data = document.getElementById('chart-data');
  if (data) {
    var charts = JSON.parse(data.textContent);
    window.tayoriCharts = {};
    document.querySelectorAll('[data-chart]').forEach(function (el) {
      var opts = charts[el.getAttribute('data-chart')];
      if (!opts) return;
      var chart = new ApexCharts(el, opts);
      window.tayoriCharts[el.getAttribute('data-chart')] = chart;
      chart.render().then(function () { el.setAttribute('data-rendered', 'true'); });
    });
  }
})();
