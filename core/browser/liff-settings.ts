/**
 * LIFF 設定 (core/resident/settings-page.ts): registers a LIFF app made elsewhere
 * (PUT /api/v1/tenants/:id/liff) or creates one through LINE (POST …/liff-app), with the session's
 * CSRF token; errors next to their fields; the page reloads to show the stored settings.
 */
import { api, clearErrors, say, showErrors } from './kit.ts';

function bind(formId: string, method: string, path: string, done: string): void {
  const form = document.getElementById(formId) as HTMLFormElement | null;
  if (!form) return;
  const status = form.querySelector<HTMLElement>('.status');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      clearErrors(form);
      const body = Object.fromEntries(
        [...form.querySelectorAll<HTMLInputElement>('input[name]')].map((i) => [i.name, i.value.trim()]),
      );
      const button = form.querySelector<HTMLButtonElement>('button[type=submit]');
      if (button) button.disabled = true;
      if (status) say(status, '送信中…');
      const r = await api(
        'PUT' === method ? 'PUT' : 'POST',
        `/api/v1/tenants/${encodeURIComponent(form.dataset.tenant ?? '')}/${path}`,
        body,
      );
      if (button) button.disabled = false;
      if (!r.ok) {
        if (status) say(status, '');
        showErrors(form, r);
        return;
      }
      if (status) say(status, done);
      location.reload();
    })();
  });
}

bind('liff-register', 'PUT', 'liff', '登録しました。');
bind('liff-create', 'POST', 'liff-app', '作成しました。');
