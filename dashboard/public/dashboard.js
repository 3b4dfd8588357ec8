// Tayori dashboard: table sorting and the month and municipality selectors (charts: charts.js; the live
// delivery list: delivery's live-deliveries.js).
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
})();
