/** The residents' home page (/liff/<tenantId>/): who is signed in, as the server verified it. */
import { residentFetch } from './liff.ts';

async function main(): Promise<void> {
  const me = document.getElementById('me');
  if (!me) return;
  const r = await residentFetch<{ userId: string; displayName: string | null }>('me');
  if (!r.ok) {
    me.textContent = '確認できませんでした';
    return;
  }
  me.dataset.userId = r.body.userId;
  me.textContent = `${r.body.displayName ?? '(表示名なし)'} さん`;
  const id = document.createElement('span');
  id.className = 'r-muted';
  id.textContent = ` (ユーザー ID: ${r.body.userId})`;
  me.append(id);
}

void main();
