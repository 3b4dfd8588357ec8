// 帳票: files by period (latest version of each, older ones expandable), creating a monthly package or
// the final report, and a job's progress while it runs (polled) — through reports' API.
(function () {
  'use strict';
  var T = window.Tayori;
  var filesBox = document.getElementById('report-files');
  if (!T || !filesBox) return;
  var el = T.el;
  var jobsBox = document.getElementById('report-jobs');
  var KINDS = ['minutes-docx', 'issues-xlsx', 'kpi-xlsx', 'kpi-docx', 'kpi-pdf', 'final-docx', 'final-xlsx'];
  var KIND_LABELS = {
    'minutes-docx': '議事録 (Word)',
    'issues-xlsx': '課題管理表 (Excel)',
    'kpi-xlsx': '実績報告 (Excel)',
    'kpi-docx': '実績報告 (Word)',
    'kpi-pdf': '実績報告 (PDF)',
    'final-docx': '最終報告書 (Word)',
    'final-xlsx': '最終報告書 (Excel)',
  };
  var STATES = { waiting: '順番待ち', active: '作成中', completed: '完了', failed: '失敗' };
  var POLL_MS = 500;
  var jobs = []; // newest first
  var watched = {}; // job ids polled until they finish
  var fresh = {}; // file ids a job on this page just made
  var timer = null;

  /** 'YYYY-MM' → 令和8年4月分; a period with two months (final report) → 令和7年4月〜令和8年3月 */
  function periodLabel(period) {
    var months = String(period || '').match(/\d{4}-\d{2}/g) || [];
    if (months.length === 1) return T.warekiMonth(months[0]) + '分';
    if (months.length >= 2) return T.warekiMonth(months[0]) + '〜' + T.warekiMonth(months[months.length - 1]);
    return String(period || '');
  }
  function jobLabel(j) {
    return (j.type === 'final' ? '最終報告書 ' : '月次帳票 ') + (j.periodLabel || periodLabel(j.period));
  }
  function size(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MB';
    return Math.max(1, Math.round(n / 1024)).toLocaleString('ja-JP') + ' KB';
  }
  function kindLabel(f) {
    return KIND_LABELS[f.kind] || f.title || f.kind;
  }
  function download(f) {
    return el('a', {
      href: '/api/v1/reports/files/' + encodeURIComponent(f.id),
      download: f.fileName,
      class: 'download',
      'aria-label': kindLabel(f) + ' 第' + f.version + '版 (' + f.fileName + ') をダウンロード',
      text: 'ダウンロード',
    });
  }

  // ---- the files, grouped by period ------------------------------------------------------------

  var fetchFiles = T.loader(filesBox, '帳票の一覧');
  function loadFiles() {
    return fetchFiles('/api/v1/reports').then(function (body) {
      if (!body) return;
      var groups = {};
      (body.files || []).forEach(function (f) {
        var key = (f.scope === 'final' ? '1' : '0') + '|' + f.period;
        (groups[key] = groups[key] || []).push(f);
      });
      var keys = Object.keys(groups).sort(function (a, b) {
        return a[0] !== b[0] ? (a[0] === '1' ? -1 : 1) : a < b ? 1 : -1; // final reports first, then months newest first
      });
      if (!keys.length) filesBox.appendChild(el('p', { class: 'note', text: 'まだ作成された帳票はありません。' }));
      keys.forEach(function (key) {
        filesBox.appendChild(packageCard(groups[key]));
      });
    });
  }

  function packageCard(files) {
    var first = files[0];
    var final = first.scope === 'final';
    var id = 'pkg-' + first.scope + '-' + String(first.period).replace(/[^\w-]/g, '_');
    var byKind = {};
    files.forEach(function (f) {
      (byKind[f.kind] = byKind[f.kind] || []).push(f);
    });
    var kinds = Object.keys(byKind).sort(function (a, b) {
      var x = KINDS.indexOf(a),
        y = KINDS.indexOf(b);
      return (x < 0 ? 99 : x) - (y < 0 ? 99 : y) || (a < b ? -1 : 1);
    });
    var dueFile = files.filter(function (f) {
      return f.dueDate || f.dueDateLabel;
    })[0];
    var months = String(first.period).match(/\d{4}-\d{2}/g) || [];
    var tbody = el('tbody');
    kinds.forEach(function (kind) {
      var versions = byKind[kind].sort(function (a, b) {
        return b.version - a.version;
      });
      var latest = versions[0];
      tbody.appendChild(
        el('tr', { 'data-file': latest.id, 'data-kind': kind, class: fresh[latest.id] ? 'highlight' : null }, [
          el('th', { scope: 'row', text: kindLabel(latest) }),
          el('td', { class: 'wrap', title: 'SHA-256: ' + latest.sha256, text: latest.fileName }),
          el('td', { class: 'num', text: '第' + latest.version + '版' }),
          el('td', { class: 'num', text: size(latest.size) }),
          el('td', { text: T.dateTime(latest.createdAt) + (latest.createdBy ? ' ' + latest.createdBy : '') }),
          el('td', {}, [download(latest)]),
        ]),
      );
      if (versions.length > 1) {
        var older = versions.slice(1);
        tbody.appendChild(
          el('tr', { class: 'older-row', 'data-kind': kind }, [
            el('td', { colspan: '6' }, [
              el('details', { class: 'older' }, [
                el('summary', { text: kindLabel(latest) + ' の以前の版 (' + older.length + '件)' }),
                el('table', { 'aria-label': kindLabel(latest) + ' の以前の版' }, [
                  el('thead', {}, [
                    el(
                      'tr',
                      {},
                      ['版', 'ファイル', '大きさ', '作成', 'SHA-256', ''].map(function (h) {
                        return el('th', { scope: 'col', text: h });
                      }),
                    ),
                  ]),
                  el(
                    'tbody',
                    {},
                    older.map(function (f) {
                      return el('tr', { 'data-file': f.id }, [
                        el('td', { class: 'num', text: '第' + f.version + '版' }),
                        el('td', { text: f.fileName }),
                        el('td', { class: 'num', text: size(f.size) }),
                        el('td', { text: T.dateTime(f.createdAt) + (f.createdBy ? ' ' + f.createdBy : '') }),
                        el('td', { title: f.sha256, text: String(f.sha256 || '').slice(0, 12) + '…' }),
                        el('td', {}, [download(f)]),
                      ]);
                    }),
                  ),
                ]),
              ]),
            ]),
          ]),
        );
      }
    });
    return el(
      'section',
      {
        class: 'package',
        id: id,
        'aria-labelledby': id + '-title',
        'data-period': first.period,
        'data-scope': first.scope,
      },
      [
        el('h3', { id: id + '-title' }, [
          final
            ? '最終報告書 ' + (first.periodLabel || periodLabel(first.period))
            : (first.periodLabel || periodLabel(first.period)) + ' 月次帳票',
          el('small', { text: months.map(T.seireki).join('〜') }),
        ]),
        dueFile
          ? el('p', { class: 'due' }, [
              el('strong', { text: '提出期限 ' }),
              dueFile.dueDateLabel || T.wareki(dueFile.dueDate),
            ])
          : null,
        el('div', { class: 'scroll' }, [
          el('table', { 'aria-labelledby': id + '-title' }, [
            el('thead', {}, [
              el(
                'tr',
                {},
                ['帳票', 'ファイル', '版', '大きさ', '作成', ''].map(function (h) {
                  return el('th', { scope: 'col', text: h });
                }),
              ),
            ]),
            tbody,
          ]),
        ]),
      ],
    );
  }

  // ---- jobs and their progress ------------------------------------------------------------------

  function remember(j) {
    for (var k = 0; k < jobs.length; k++)
      if (jobs[k].id === j.id) {
        jobs[k] = j;
        return;
      }
    jobs.unshift(j);
  }

  function renderJobs() {
    jobsBox.textContent = '';
    if (!jobs.length) {
      jobsBox.appendChild(el('p', { class: 'note', text: '作成中の帳票はありません。' }));
      return;
    }
    jobs.slice(0, 10).forEach(function (j) {
      var p = j.progress || {};
      var running = j.state === 'waiting' || j.state === 'active';
      var bar = el('progress', { max: String(Math.max(1, p.total || 1)), 'aria-label': jobLabel(j) + ' の進み具合' });
      if (running && !p.total) bar.removeAttribute('value');
      else bar.value = j.state === 'completed' ? Math.max(1, p.total || 1) : p.done || 0;
      var detailText =
        j.state === 'failed'
          ? j.error || '作成できませんでした'
          : (p.step ? p.step : STATES[j.state] || j.state) +
            (p.total ? ' (' + (j.state === 'completed' ? p.total : p.done || 0) + ' / ' + p.total + ')' : '');
      jobsBox.appendChild(
        el('div', { class: 'job', 'data-job': j.id, 'data-state': j.state }, [
          el('div', {}, [
            el('strong', { text: jobLabel(j) }),
            el('br'),
            el('span', { class: 'state-' + j.state, text: STATES[j.state] || j.state }),
            j.createdAt
              ? el('span', {
                  class: 'who',
                  text: ' ' + T.dateTime(j.createdAt) + (j.createdBy ? ' ' + j.createdBy : ''),
                })
              : null,
          ]),
          el('div', {}, [
            bar,
            el('div', {
              class: j.state === 'failed' ? 'state-failed' : 'note',
              role: j.state === 'failed' && watched[j.id] === 'done' ? 'alert' : null,
              text: detailText,
            }),
          ]),
        ]),
      );
    });
  }

  function loadJobs() {
    return T.api('GET', '/api/v1/reports/jobs').then(function (r) {
      if (!r.ok) {
        jobsBox.textContent = '';
        jobsBox.appendChild(el('p', { class: 'error', text: '作成の状況を読み込めませんでした: ' + T.errorText(r) }));
        return;
      }
      var list = Array.isArray(r.body) ? r.body : r.body.jobs || [];
      jobs = [];
      list.slice().reverse().forEach(remember);
      list.forEach(function (j) {
        if (j.state === 'waiting' || j.state === 'active') watch(j.id);
      });
      renderJobs();
    });
  }

  function watch(id) {
    if (!watched[id]) watched[id] = 'running';
    if (!timer) timer = setTimeout(poll, POLL_MS);
  }

  function poll() {
    timer = null;
    var ids = Object.keys(watched).filter(function (id) {
      return watched[id] === 'running';
    });
    if (!ids.length) return;
    Promise.all(
      ids.map(function (id) {
        return T.api('GET', '/api/v1/reports/jobs/' + encodeURIComponent(id));
      }),
    ).then(function (rs) {
      var finished = false;
      rs.forEach(function (r, k) {
        if (!r.ok) {
          watched[ids[k]] = 'done';
          return;
        }
        var j = r.body;
        remember(j);
        if (j.state === 'completed' || j.state === 'failed') {
          watched[j.id] = 'done';
          (j.fileIds || []).forEach(function (f) {
            fresh[f] = true;
          });
          if (j.state === 'completed') finished = true;
        }
      });
      renderJobs();
      if (finished) loadFiles();
      if (
        ids.some(function (id) {
          return watched[id] === 'running';
        })
      )
        timer = setTimeout(poll, POLL_MS);
    });
  }

  function creator(formId, body) {
    var form = document.getElementById(formId);
    if (!form) return;
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      T.clearErrors(form);
      var button = form.querySelector('button[type=submit]');
      button.disabled = true;
      var b = body(form.elements);
      T.api('POST', '/api/v1/reports/jobs', b).then(function (r) {
        button.disabled = false;
        if (!r.ok) {
          T.showErrors(form, r);
          return;
        }
        var known = jobs.some(function (j) {
          return j.id === r.body.jobId;
        });
        if (!known)
          remember({
            id: r.body.jobId,
            type: b.type,
            period: b.type === 'final' ? b.from + '_' + b.to : b.month,
            state: 'waiting',
            progress: { step: '', done: 0, total: 0 },
          });
        renderJobs();
        var summary = form.querySelector('.form-summary');
        if (r.body.existing && summary) {
          summary.textContent = '同じ期間の帳票を作成中です。その進み具合を表示しています。';
          summary.hidden = false;
        }
        watch(r.body.jobId);
      });
    });
  }
  creator('create-monthly', function (f) {
    return { type: 'monthly', month: f.month.value };
  });
  creator('create-final', function (f) {
    var body = { type: 'final', from: f.from.value, to: f.to.value };
    if (f.due.value) body.due = f.due.value;
    return body;
  });

  loadJobs();
  loadFiles();
})();
