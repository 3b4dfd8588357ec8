// 帳票: files by period (latest version of each, older ones expandable), creating a monthly package or
// the final report, and a job's progress while it runs (polled) — through reports' API.
import {
  api,
  clearErrors,
  data,
  dateTime,
  el,
  errorText,
  loader,
  markCurrentNav,
  seireki,
  showErrors,
  wareki,
  warekiMonth,
} from '../../core/browser/kit.ts';
import type { ReportFileView, ReportJob, ReportsWords } from './types.ts';
import { fileSizeText } from '../../core/file-size.ts';

type JobRequest = { type: 'monthly'; month: string } | { type: 'final'; from: string; to: string; due?: string };

const words = data as typeof data & ReportsWords;
const KIND_ORDER = words.kinds.map((k) => k.id);
const KIND_LABELS = new Map(words.kinds.map((k) => [k.id, k.label]));
const POLL_MS = 500;

markCurrentNav();
const filesBox = document.getElementById('report-files');
const jobsBox = document.getElementById('report-jobs');
if (filesBox && jobsBox) reportsPage(filesBox, jobsBox);

function reportsPage(filesBox: HTMLElement, jobsBox: HTMLElement): void {
  let jobs: ReportJob[] = []; // newest first
  const watched = new Map<string, 'running' | 'done'>(); // job ids polled until they finish
  const fresh = new Set<string>(); // file ids a job on this page just made
  let timer: ReturnType<typeof setTimeout> | null = null;

  // ---- the files, grouped by period ------------------------------------------------------------

  const fetchFiles = loader<{ files?: ReportFileView[] }>(filesBox, '帳票の一覧');
  async function loadFiles(): Promise<void> {
    const body = await fetchFiles('/api/v1/reports');
    if (!body) return;
    const groups = new Map<string, ReportFileView[]>();
    for (const f of body.files ?? []) {
      const key = `${f.scope === 'final' ? '1' : '0'}|${f.period}`;
      const group = groups.get(key);
      if (group) group.push(f);
      else groups.set(key, [f]);
    }
    // final reports first, then months newest first
    const keys = [...groups.keys()].sort((a, b) => (a[0] !== b[0] ? (a[0] === '1' ? -1 : 1) : a < b ? 1 : -1));
    if (!keys.length) filesBox.appendChild(el('p', { class: 'note', text: 'まだ作成された帳票はありません。' }));
    for (const key of keys) filesBox.appendChild(packageCard(groups.get(key)!, fresh));
  }

  // ---- jobs and their progress ------------------------------------------------------------------

  function remember(j: ReportJob): void {
    const k = jobs.findIndex((x) => x.id === j.id);
    if (k >= 0) jobs[k] = j;
    else jobs.unshift(j);
  }

  function renderJobs(): void {
    jobsBox.textContent = '';
    if (!jobs.length) {
      jobsBox.appendChild(el('p', { class: 'note', text: '作成中の帳票はありません。' }));
      return;
    }
    for (const j of jobs.slice(0, 10)) jobsBox.appendChild(jobView(j, watched.get(j.id) === 'done'));
  }

  async function loadJobs(): Promise<void> {
    const r = await api<{ jobs?: ReportJob[] } | ReportJob[]>('GET', '/api/v1/reports/jobs');
    if (!r.ok) {
      jobsBox.textContent = '';
      jobsBox.appendChild(el('p', { class: 'error', text: `作成の状況を読み込めませんでした: ${errorText(r)}` }));
      return;
    }
    const list = Array.isArray(r.body) ? r.body : (r.body.jobs ?? []);
    jobs = [];
    for (const j of list.slice().reverse()) remember(j);
    for (const j of list) if (j.state === 'waiting' || j.state === 'active') watch(j.id);
    renderJobs();
  }

  function watch(id: string): void {
    if (!watched.has(id)) watched.set(id, 'running');
    if (!timer) timer = setTimeout(() => void poll(), POLL_MS);
  }

  const running = () => [...watched].filter(([, s]) => s === 'running').map(([id]) => id);

  async function poll(): Promise<void> {
    timer = null;
    const ids = running();
    if (!ids.length) return;
    const rs = await Promise.all(
      ids.map((id) => api<ReportJob>('GET', `/api/v1/reports/jobs/${encodeURIComponent(id)}`)),
    );
    let finished = false;
    rs.forEach((r, k) => {
      if (!r.ok) {
        watched.set(ids[k]!, 'done');
        return;
      }
      const j = r.body;
      remember(j);
      if (j.state === 'completed' || j.state === 'failed') {
        watched.set(j.id, 'done');
        for (const f of j.fileIds ?? []) fresh.add(f);
        if (j.state === 'completed') finished = true;
      }
    });
    renderJobs();
    if (finished) void loadFiles();
    if (ids.some((id) => watched.get(id) === 'running')) timer = setTimeout(() => void poll(), POLL_MS);
  }

  function creator(formId: string, request: (form: HTMLFormElement) => JobRequest): void {
    const form = document.getElementById(formId) as HTMLFormElement | null;
    if (!form) return;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const button = form.querySelector<HTMLButtonElement>('button[type=submit]')!;
      button.disabled = true;
      const b = request(form);
      const r = await api<{ jobId: string; existing?: boolean }>('POST', '/api/v1/reports/jobs', b);
      button.disabled = false;
      if (!r.ok) return showErrors(form, r);
      if (!jobs.some((j) => j.id === r.body.jobId))
        remember({
          id: r.body.jobId,
          type: b.type,
          period: b.type === 'final' ? `${b.from}_${b.to}` : b.month,
          state: 'waiting',
          progress: { step: '', done: 0, total: 0 },
        });
      renderJobs();
      const summary = form.querySelector<HTMLElement>('.form-summary');
      if (r.body.existing && summary) {
        summary.textContent = '同じ期間の帳票を作成中です。その進み具合を表示しています。';
        summary.hidden = false;
      }
      watch(r.body.jobId);
    });
  }
  const value = (form: HTMLFormElement, name: string) =>
    (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement).value;
  creator('create-monthly', (f) => ({ type: 'monthly', month: value(f, 'month') }));
  creator('create-final', (f) => {
    const due = value(f, 'due');
    return { type: 'final', from: value(f, 'from'), to: value(f, 'to'), ...(due ? { due } : {}) };
  });

  void loadJobs();
  void loadFiles();
}

// ---- drawing -----------------------------------------------------------------------------------------

/** 'YYYY-MM' → 令和8年4月分; a period with two months (final report) → 令和7年4月〜令和8年3月 */
function periodLabel(period: string | null | undefined): string {
  const months = String(period ?? '').match(/\d{4}-\d{2}/g) ?? [];
  if (months.length === 1) return `${warekiMonth(months[0])}分`;
  if (months.length >= 2) return `${warekiMonth(months[0])}〜${warekiMonth(months[months.length - 1])}`;
  return String(period ?? '');
}

function jobLabel(j: ReportJob): string {
  return (j.type === 'final' ? '最終報告書 ' : '月次帳票 ') + (j.periodLabel || periodLabel(j.period));
}

function kindLabel(f: ReportFileView): string {
  return KIND_LABELS.get(f.kind) || f.title || f.kind;
}

const byKind = (a: string, b: string) => {
  const x = KIND_ORDER.indexOf(a);
  const y = KIND_ORDER.indexOf(b);
  return (x < 0 ? 99 : x) - (y < 0 ? 99 : y) || (a < b ? -1 : 1);
};

const created = (f: { createdAt?: string; createdBy?: string }) =>
  dateTime(f.createdAt) + (f.createdBy ? ` ${f.createdBy}` : '');

function download(f: ReportFileView): HTMLAnchorElement {
  return el('a', {
    href: `/api/v1/reports/files/${encodeURIComponent(f.id)}`,
    download: f.fileName,
    class: 'download',
    'aria-label': `${kindLabel(f)} 第${f.version}版 (${f.fileName}) をダウンロード`,
    text: 'ダウンロード',
  });
}

function headRow(labels: string[]): HTMLTableSectionElement {
  return el('thead', {}, [
    el(
      'tr',
      {},
      labels.map((h) => el('th', { scope: 'col', text: h })),
    ),
  ]);
}

/** One period's files: the latest version of each kind, the older ones behind 「以前の版」. */
function packageCard(files: ReportFileView[], fresh: ReadonlySet<string>): HTMLElement {
  const first = files[0]!;
  const final = first.scope === 'final';
  const id = `pkg-${first.scope}-${String(first.period).replace(/[^\w-]/g, '_')}`;
  const versionsOf = new Map<string, ReportFileView[]>();
  for (const f of files) {
    const list = versionsOf.get(f.kind);
    if (list) list.push(f);
    else versionsOf.set(f.kind, [f]);
  }
  const dueFile = files.find((f) => f.dueDate || f.dueDateLabel);
  const months = String(first.period).match(/\d{4}-\d{2}/g) ?? [];
  const tbody = el('tbody');
  for (const kind of [...versionsOf.keys()].sort(byKind)) {
    const versions = versionsOf.get(kind)!.sort((a, b) => b.version - a.version);
    const latest = versions[0]!;
    tbody.appendChild(
      el('tr', { 'data-file': latest.id, 'data-kind': kind, class: fresh.has(latest.id) ? 'highlight' : null }, [
        el('th', { scope: 'row', text: kindLabel(latest) }),
        el('td', { class: 'wrap', title: `SHA-256: ${latest.sha256}`, text: latest.fileName }),
        el('td', { class: 'num', text: `第${latest.version}版` }),
        el('td', { class: 'num', text: fileSizeText(latest.size) }),
        el('td', { text: created(latest) }),
        el('td', {}, [download(latest)]),
      ]),
    );
    const older = versions.slice(1);
    if (older.length)
      tbody.appendChild(
        el('tr', { class: 'older-row', 'data-kind': kind }, [
          el('td', { colspan: '6' }, [
            el('details', { class: 'older' }, [
              el('summary', { text: `${kindLabel(latest)} の以前の版 (${older.length}件)` }),
              el('table', { 'aria-label': `${kindLabel(latest)} の以前の版` }, [
                headRow(['版', 'ファイル', '大きさ', '作成', 'SHA-256', '']),
                el(
                  'tbody',
                  {},
                  older.map((f) =>
                    el('tr', { 'data-file': f.id }, [
                      el('td', { class: 'num', text: `第${f.version}版` }),
                      el('td', { text: f.fileName }),
                      el('td', { class: 'num', text: fileSizeText(f.size) }),
                      el('td', { text: created(f) }),
                      el('td', { title: f.sha256, text: `${String(f.sha256 ?? '').slice(0, 12)}…` }),
                      el('td', {}, [download(f)]),
                    ]),
                  ),
                ),
              ]),
            ]),
          ]),
        ]),
      );
  }
  const label = first.periodLabel || periodLabel(first.period);
  return el(
    'section',
    { class: 'package', id, 'aria-labelledby': `${id}-title`, 'data-period': first.period, 'data-scope': first.scope },
    [
      el('h3', { id: `${id}-title` }, [
        final ? `最終報告書 ${label}` : `${label} 月次帳票`,
        el('small', { text: months.map(seireki).join('〜') }),
      ]),
      dueFile
        ? el('p', { class: 'due' }, [
            el('strong', { text: '提出期限 ' }),
            dueFile.dueDateLabel || wareki(dueFile.dueDate),
          ])
        : null,
      el('div', { class: 'scroll' }, [
        el('table', { 'aria-labelledby': `${id}-title` }, [
          headRow(['帳票', 'ファイル', '版', '大きさ', '作成', '']),
          tbody,
        ]),
      ]),
    ],
  );
}

/** A job with its progress bar; a failure the person just watched happen is announced (role=alert). */
function jobView(j: ReportJob, watchedToTheEnd: boolean): HTMLElement {
  const p = j.progress ?? {};
  const stateLabel = words.jobStates[j.state] ?? j.state;
  const isRunning = j.state === 'waiting' || j.state === 'active';
  const bar = el('progress', { max: String(Math.max(1, p.total || 1)), 'aria-label': `${jobLabel(j)} の進み具合` });
  if (isRunning && !p.total) bar.removeAttribute('value');
  else bar.value = j.state === 'completed' ? Math.max(1, p.total || 1) : p.done || 0;
  const detailText =
    j.state === 'failed'
      ? j.error || '作成できませんでした'
      : (p.step || stateLabel) + (p.total ? ` (${j.state === 'completed' ? p.total : p.done || 0} / ${p.total})` : '');
  return el('div', { class: 'job', 'data-job': j.id, 'data-state': j.state }, [
    el('div', {}, [
      el('strong', { text: jobLabel(j) }),
      el('br'),
      el('span', { class: `state-${j.state}`, text: stateLabel }),
      j.createdAt ? el('span', { class: 'who', text: ` ${created(j)}` }) : null,
    ]),
    el('div', {}, [
      bar,
      el('div', {
        class: j.state === 'failed' ? 'state-failed' : 'note',
        role: j.state === 'failed' && watchedToTheEnd ? 'alert' : null,
        text: detailText,
      }),
    ]),
  ]);
}
