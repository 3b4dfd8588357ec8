// 業務工程表: the contractor's form (a step's planned and actual dates) and each municipality's history.
import {
  api,
  clearErrors,
  el,
  errorText,
  loader,
  markCurrentNav,
  readJson,
  say,
  showErrors,
  wareki,
} from '../../core/browser/kit.ts';

interface Step {
  key: string;
  label: string;
  plannedOn: string | null;
  actualOn: string | null;
  actualSource: 'record' | 'entered' | null;
  recorded: boolean;
  note: string;
  version: number;
}
interface HistoryEntry {
  stepLabel: string;
  action: string;
  changes: Array<{ label: string; from: unknown; to: unknown }>;
  note: string;
  changedBy: string;
  changedAt: string;
}

markCurrentNav();
const board = readJson<{ rows: Array<{ tenantId: string; steps: Step[] }> }>('rollout-data', { rows: [] });
const form = document.getElementById('rollout-form') as HTMLFormElement | null;
if (form) editor(form);
history();

function editor(f: HTMLFormElement): void {
  const tenant = f.elements.namedItem('tenant') as HTMLSelectElement;
  const step = f.elements.namedItem('step') as HTMLSelectElement;
  const planned = f.elements.namedItem('plannedOn') as HTMLInputElement;
  const actual = f.elements.namedItem('actualOn') as HTMLInputElement;
  const note = f.elements.namedItem('note') as HTMLInputElement;
  const status = document.getElementById('rollout-status')!;
  const current = () => board.rows.find((r) => r.tenantId === tenant.value)?.steps.find((s) => s.key === step.value);
  const fill = () => {
    const s = current();
    planned.value = s?.plannedOn ?? '';
    actual.value = s?.actualSource === 'entered' ? (s.actualOn ?? '') : '';
    actual.disabled = s?.recorded ?? false;
    note.value = s?.note ?? '';
    clearErrors(f);
  };
  tenant.addEventListener('change', fill);
  step.addEventListener('change', fill);
  fill();
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(f);
    const s = current();
    const r = await api(
      'PUT',
      `/api/v1/rollout/${encodeURIComponent(tenant.value)}/steps/${encodeURIComponent(step.value)}`,
      {
        plannedOn: planned.value || null,
        actualOn: actual.disabled ? null : actual.value || null,
        note: note.value,
        version: s?.version ?? 0,
      },
    );
    if (!r.ok) {
      showErrors(f, r);
      say(status, errorText(r), true);
      return;
    }
    say(status, '保存しました。表を更新します');
    location.reload();
  });
}

function history(): void {
  const select = document.getElementById('r-history-tenant') as HTMLSelectElement | null;
  const box = document.getElementById('rollout-history');
  if (!select || !box) return;
  const load = loader<{ history: HistoryEntry[] }>(box, '変更履歴');
  const show = async () => {
    const r = await load(`/api/v1/rollout/${encodeURIComponent(select.value)}/history`);
    if (!r) return;
    if (!r.history.length) {
      box.appendChild(el('p', { text: 'この市町の予定・実績はまだ入力されていません' }));
      return;
    }
    const fmt = (v: unknown) =>
      typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? wareki(v) : v ? String(v) : '(なし)';
    box.appendChild(
      el(
        'ul',
        {},
        r.history
          .slice()
          .reverse()
          .map((h) =>
            el('li', {}, [
              `${h.changedAt.slice(0, 16).replace('T', ' ')} ${h.changedBy} — ${h.stepLabel}: `,
              h.changes.map((c) => `${c.label} ${fmt(c.from)} → ${fmt(c.to)}`).join('、'),
            ]),
          ),
      ),
    );
  };
  select.addEventListener('change', () => void show());
  void show();
}
