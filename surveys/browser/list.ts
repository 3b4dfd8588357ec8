/** surveys (resident): the surveys open now, each a link with the resident's state. */
import { residentFetch, setStatus } from '../../core/browser/liff.ts';

interface Listed {
  surveyId: string;
  title: string;
  closesAt: string;
  opensAt: string;
  phase: 'open' | 'not_open';
  state: 'new' | 'partial' | 'answered';
}

const STATE: Record<Listed['state'], string> = { new: '未回答', partial: '回答途中', answered: '回答済み' };
const day = new Intl.DateTimeFormat('ja-JP', {
  timeZone: 'Asia/Tokyo',
  month: 'long',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

async function main(): Promise<void> {
  const r = await residentFetch<{ surveys: Listed[] }>('surveys');
  const box = document.getElementById('s-list-box');
  box?.removeAttribute('aria-busy');
  setStatus('');
  if (!r.ok) return;
  const list = document.getElementById('s-list');
  const tenant = box?.dataset.tenant ?? '';
  for (const s of r.body.surveys) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.className = 'r-button';
    a.href = `/liff/${encodeURIComponent(tenant)}/surveys/${encodeURIComponent(s.surveyId)}`;
    a.textContent = s.title;
    const badge = document.createElement('span');
    badge.className = 's-badge';
    badge.textContent =
      s.phase === 'not_open'
        ? `（${day.format(new Date(s.opensAt))}から）`
        : `（${STATE[s.state]}・${day.format(new Date(s.closesAt))}まで）`;
    a.append(badge);
    li.append(a);
    list?.append(li);
  }
  const empty = document.getElementById('s-list-empty');
  if (empty) empty.hidden = r.body.surveys.length > 0;
}

void main();
