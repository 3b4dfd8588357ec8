/**
 * 優待カードの登録・変更 (resident): the form filled from the stored household, sent as JSON; the
 * server's field errors shown under their fields (nothing is saved while any is left).
 */
import { clearAlert, liffConfig, residentFetch, setStatus, showAlert } from '../../core/browser/liff.ts';
import type { HouseholdView } from '../resident-api.ts';
import { byId } from '../../core/browser/resident-kit.ts';

const MAX_CHILDREN = 5;
const form = byId<HTMLFormElement>('c-form');

const input = (name: string) => form?.elements.namedItem(name) as HTMLInputElement | null;

function kind(): string {
  const checked = form?.querySelector<HTMLInputElement>('input[name="kind"]:checked');
  return checked?.value ?? 'children';
}

function showChildren(): void {
  const box = byId('c-children-box');
  if (box) box.hidden = kind() !== 'children';
}

function fill(h: HouseholdView): void {
  input('holderName')!.value = h.holderName;
  input('relationship')!.value = h.relationship;
  const radio = form?.querySelector<HTMLInputElement>(`input[name="kind"][value="${h.kind}"]`);
  if (radio) radio.checked = true;
  h.children.forEach((c, i) => {
    input(`children.${i}.name`)!.value = c.name;
    input(`children.${i}.birthDate`)!.value = c.birthDate;
  });
  showChildren();
}

function clearErrors(): void {
  for (const p of form?.querySelectorAll<HTMLElement>('.c-error') ?? []) p.textContent = '';
  for (const i of form?.querySelectorAll<HTMLInputElement>('[aria-invalid]') ?? []) i.removeAttribute('aria-invalid');
}

function collect() {
  const children: Array<{ name: string; birthDate: string }> = [];
  if (kind() === 'children') {
    for (let i = 0; i < MAX_CHILDREN; i++) {
      const name = input(`children.${i}.name`)!.value.trim();
      const birthDate = input(`children.${i}.birthDate`)!.value;
      // an empty row after the first is no child; the first row always goes (the server says what is missing)
      if (i === 0 || name || birthDate) children.push({ name, birthDate });
    }
  }
  return {
    holderName: input('holderName')!.value,
    relationship: input('relationship')!.value,
    kind: kind(),
    children,
  };
}

async function save(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  clearErrors();
  clearAlert();
  const saved = byId('c-saved');
  if (saved) saved.textContent = '';
  const r = await residentFetch<{ household: HouseholdView }>('cards/household', { method: 'PUT', json: collect() });
  if (r.ok) {
    if (saved) saved.textContent = '登録しました。';
    location.assign(`/liff/${encodeURIComponent(liffConfig().tenantId)}/cards/card`);
    return;
  }
  const details = (r.body.error?.details ?? []) as Array<{ field: string; message: string }>;
  let first: HTMLInputElement | null = null;
  for (const d of details) {
    const p = form?.querySelector<HTMLElement>(`.c-error[data-field="${CSS.escape(d.field)}"]`);
    if (p) p.textContent = d.message;
    const field = input(d.field);
    if (field) {
      field.setAttribute('aria-invalid', 'true');
      first ??= field;
    }
  }
  if (details.length) showAlert('入力内容を確認してください。');
  first?.focus();
}

async function main(): Promise<void> {
  if (!form) return;
  for (const r of form.querySelectorAll<HTMLInputElement>('input[name="kind"]'))
    r.addEventListener('change', showChildren);
  form.addEventListener('submit', (ev) => void save(ev));
  const r = await residentFetch<{ household: HouseholdView | null }>('cards/household');
  form.removeAttribute('aria-busy');
  setStatus('');
  if (r.ok && r.body.household) {
    fill(r.body.household);
    const b = byId('c-save');
    if (b) b.textContent = '変更を保存する';
  }
  showChildren();
}

void main();
