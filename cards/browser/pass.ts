/** まいたまパス (resident): the pass image, for anyone, no registration. */
import { residentFetch, setStatus } from '../../core/browser/liff.ts';
import { byId } from '../../core/browser/resident-kit.ts';

async function main(): Promise<void> {
  const r = await residentFetch<{ type: string; data: string }>('cards/pass');
  byId('c-pass-box')?.removeAttribute('aria-busy');
  setStatus('');
  const img = byId<HTMLImageElement>('c-pass');
  if (r.ok && img) {
    img.src = `data:${r.body.type};base64,${r.body.data}`;
    img.hidden = false;
    return;
  }
  if (r.status === 404) {
    const none = byId('c-no-pass');
    if (none) none.hidden = false;
  }
}

void main();
