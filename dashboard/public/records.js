// Tayori: what the 議事録, 課題管理表 and 帳票 pages share — the API with the session's CSRF token,
// building elements, 和暦 dates, tenant names, and showing the API's Japanese errors field by field.
(function () {
  'use strict';
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';
  var dataEl = document.getElementById('page-data');
  var data = dataEl ? JSON.parse(dataEl.textContent) : { tenants: [], ownTenant: null, canManage: false };
  var names = {};
  data.tenants.forEach(function (t) {
    names[t.id] = t.name;
  });

  // the current page in the navigation
  document.querySelectorAll('header nav a').forEach(function (a) {
    if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
  });

  /** JSON to and from the API → { ok, status, body }; a network failure becomes status 0. */
  function api(method, url, body) {
    var init = { method: method, credentials: 'same-origin', headers: { accept: 'application/json' } };
    if (method !== 'GET') {
      init.headers['x-csrf-token'] = csrf;
      if (body !== undefined) {
        init.headers['content-type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
    }
    return fetch(url, init).then(
      function (res) {
        return res
          .json()
          .catch(function () {
            return {};
          })
          .then(function (j) {
            return { ok: res.ok, status: res.status, body: j };
          });
      },
      function () {
        return { ok: false, status: 0, body: {} };
      },
    );
  }

  /** The API's Japanese message, or a plain one for what gave none. */
  function errorText(r) {
    if (r.body && r.body.error && r.body.error.message) return r.body.error.message;
    if (r.status === 0) return 'サーバーに接続できませんでした。ネットワークを確認してください';
    if (r.status === 401) return 'サインインの有効期限が切れました。ページを読み込み直してサインインしてください';
    if (r.status === 403) return 'この操作を行う権限がありません';
    return '処理できませんでした (HTTP ' + r.status + ')';
  }

  /** el('td', { class: 'num' }, ['text', node]) — text is always text, never HTML. */
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k === 'text') e.textContent = v;
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
    return e;
  }

  var warekiDay = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
    era: 'long',
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    timeZone: 'UTC',
  });
  var warekiMon = new Intl.DateTimeFormat('ja-JP-u-ca-japanese', {
    era: 'long',
    year: 'numeric',
    month: 'long',
    timeZone: 'UTC',
  });
  var tokyoTime = new Intl.DateTimeFormat('ja-JP', {
    timeZone: 'Asia/Tokyo',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
  /** 'YYYY-MM-DD' → 令和8年4月10日 */
  function wareki(day) {
    return day ? warekiDay.format(new Date(day.slice(0, 10) + 'T00:00:00Z')) : '';
  }
  /** 'YYYY-MM' → 令和8年4月 */
  function warekiMonth(month) {
    return month ? warekiMon.format(new Date(month.slice(0, 7) + '-01T00:00:00Z')) : '';
  }
  /** 'YYYY-MM' → 2026年4月 */
  function seireki(month) {
    return Number(month.slice(0, 4)) + '年' + Number(month.slice(5, 7)) + '月';
  }
  /** ISO instant → 2026/04/15 14:00 (Tokyo) */
  function dateTime(iso) {
    return iso ? tokyoTime.format(new Date(iso)) : '';
  }
  /** ISO instant with +09:00 → the value of an <input type=datetime-local> */
  function localInput(iso) {
    return iso ? iso.slice(0, 16) : '';
  }
  function todayTokyo() {
    return new Date(Date.now() + 9 * 3600000).toISOString().slice(0, 10);
  }
  function tenantName(id) {
    return names[id] || id;
  }

  /** Clears the errors a form shows. */
  function clearErrors(form) {
    form.querySelectorAll('[aria-invalid]').forEach(function (c) {
      c.removeAttribute('aria-invalid');
    });
    form.querySelectorAll('.field-error').forEach(function (p) {
      p.textContent = '';
      p.hidden = true;
    });
    var summary = form.querySelector('.form-summary');
    if (summary) {
      summary.textContent = '';
      summary.hidden = true;
    }
  }

  /** The control for an API field path: exact ('attendees.0.name'), else the nearest parent ('agenda'). */
  function controlFor(form, path) {
    var parts = path ? path.split('.') : [];
    for (var n = parts.length; n > 0; n--) {
      var c = form.querySelector('[data-field="' + parts.slice(0, n).join('.') + '"]');
      if (c) return { control: c, rest: parts.slice(n) };
    }
    return null;
  }

  function errorSlot(control) {
    var ids = (control.getAttribute('aria-describedby') || '').split(/\s+/);
    for (var i = 0; i < ids.length; i++) {
      var p = ids[i] && document.getElementById(ids[i]);
      if (p && p.classList.contains('field-error')) return p;
    }
    var wrap = control.closest('.field, fieldset, .row');
    return wrap ? wrap.querySelector('.field-error') : null;
  }

  /**
   * Shows an API error on the form: each detail next to its field (with aria-invalid), all of them in
   * the summary at the top (an alert), and focus on the first field in error.
   */
  function showErrors(form, r) {
    clearErrors(form);
    var err = (r.body && r.body.error) || {};
    var details = Array.isArray(err.details) ? err.details : [];
    var summary = form.querySelector('.form-summary');
    var items = [];
    details.forEach(function (d) {
      var found = controlFor(form, d.field || '');
      if (!found) {
        items.push(d.message);
        return;
      }
      var prefix = found.rest.length && /^\d+$/.test(found.rest[0]) ? Number(found.rest[0]) + 1 + '行目: ' : '';
      var message = prefix + d.message;
      found.control.setAttribute('aria-invalid', 'true');
      var slot = errorSlot(found.control);
      if (slot) {
        slot.textContent = slot.textContent ? slot.textContent + ' / ' + message : message;
        slot.hidden = false;
      }
      var label = labelOf(found.control);
      var row = found.control.closest('.row');
      var set = row && row.closest('fieldset');
      if (set)
        label =
          labelOf(set) + ' ' + (Array.prototype.indexOf.call(row.parentNode.children, row) + 1) + '件目の' + label;
      items.push((label ? label + ': ' : '') + message);
    });
    var first = form.querySelector('[aria-invalid=true]'); // the first in the order a person reads
    if (summary) {
      // the API's own sentence, unless it is the generic one that lists field paths
      var head =
        !details.length || !/^入力内容に誤りがあります/.test(err.message || '')
          ? errorText(r)
          : '入力内容に誤りがあります (' + details.length + ' 件)。';
      summary.appendChild(el('strong', { text: head }));
      if (items.length)
        summary.appendChild(
          el(
            'ul',
            {},
            items.map(function (t) {
              return el('li', { text: t });
            }),
          ),
        );
      summary.hidden = false;
    }
    var target = first && first.matches('fieldset') ? first.querySelector('input, select, textarea') : first;
    if (target) target.focus();
    else if (summary) {
      summary.tabIndex = -1;
      summary.focus();
    }
  }

  function labelOf(control) {
    if (control.matches('fieldset')) {
      var lg = control.querySelector('legend');
      return lg ? lg.firstChild.textContent.trim() : '';
    }
    if (control.id) {
      var l = document.querySelector('label[for="' + control.id + '"]');
      if (l) return l.firstChild.textContent.trim();
    }
    var wrap = control.closest('label');
    return wrap ? wrap.firstChild.textContent.trim() : '';
  }

  /**
   * A loader for a list: `box` is busy while it loads and emptied for the answer; a failure shows
   * 「<what>を読み込めませんでした」 with the API's words (in the node `failed` makes, a <p> by default).
   * Only the latest call's answer is drawn (filters change faster than answers come): → the body, or null.
   */
  function loader(box, what, failed) {
    var calls = 0;
    return function (url) {
      var mine = ++calls;
      box.setAttribute('aria-busy', 'true');
      return api('GET', url).then(function (r) {
        if (mine !== calls) return null;
        box.removeAttribute('aria-busy');
        box.textContent = '';
        if (r.ok) return r.body;
        var text = what + 'を読み込めませんでした: ' + errorText(r);
        box.appendChild(failed ? failed(text) : el('p', { class: 'error', role: 'alert', text: text }));
        return null;
      });
    };
  }

  /** Writes a message to a status line (role=status); errors in their colour. */
  function say(node, text, isError) {
    node.textContent = text;
    node.classList.toggle('error-text', !!isError);
  }

  /** The filter form's values as a query string, kept in the address bar so the view can be shared. */
  function bindFilters(form, onChange) {
    var params = new URLSearchParams(location.search);
    Array.prototype.forEach.call(form.elements, function (c) {
      if (c.name && params.has(c.name)) c.value = params.get(c.name);
    });
    var query = function () {
      var q = new URLSearchParams();
      Array.prototype.forEach.call(form.elements, function (c) {
        if (c.name && c.value) q.set(c.name, c.value);
      });
      return q.toString();
    };
    form.addEventListener('change', function () {
      var q = query();
      history.replaceState(null, '', location.pathname + (q ? '?' + q : ''));
      onChange(q);
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
    });
    return query;
  }

  window.Tayori = {
    data: data,
    api: api,
    errorText: errorText,
    el: el,
    wareki: wareki,
    warekiMonth: warekiMonth,
    seireki: seireki,
    dateTime: dateTime,
    localInput: localInput,
    todayTokyo: todayTokyo,
    tenantName: tenantName,
    clearErrors: clearErrors,
    showErrors: showErrors,
    say: say,
    bindFilters: bindFilters,
    loader: loader,
  };
})();
