/**
 * メールからの配信 (/municipalities/:id/mail) in the staff shell: the tenant's recipient address,
 * allowed senders, rules and the mails received, drawn by /assets/mail-settings.js over the mail API
 * (which checks the tenant and the deliver permission again).
 */
import { fileURLToPath } from 'node:url';
import { hasPermission, requireTenant } from '../../core/auth.ts';
import { AppError } from '../../core/errors.ts';
import { html } from '../../core/html.ts';
import type { PageShell } from '../../core/page-shell.ts';
import { tenantIdSchema } from '../../core/tenants.ts';

const file = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export function registerMailPages(shell: PageShell): void {
  shell.assets({ 'mail-settings.js': file('../browser/mail-settings.ts') });
  shell.page<{ id: string }>('/municipalities/:id/mail', async ({ req, principal, tenants }) => {
    const id = tenantIdSchema.parse(req.params.id);
    requireTenant(principal, id);
    const tenant = tenants.find((t) => t.id === id);
    if (!tenant) throw new AppError('tenant_not_found', `テナント ${id} は登録されていません`, 404);
    const canEdit = hasPermission(principal, 'deliver');
    return {
      title: `${tenant.name} のメールからの配信`,
      scripts: ['mail-settings.js'],
      styles: ['records.css', 'composer.css', 'delivery-settings.css'],
      body: html`<h1>${tenant.name} のメールからの配信 <small><a href="/municipalities/${tenant.id}/deliveries">配信に戻る</a></small></h1>
<p class="note">防災・気象などのシステムが送るメールを受け取り、ルールに合えば LINE で配信します。許可した差出人のメールだけを受け付けます。ルールは下書きを作り (配信の一覧で確認して送信)、「緊急」のルールだけがすぐに送ります。</p>
<div id="mail-settings" data-tenant="${tenant.id}"${canEdit ? html` data-can-edit` : ''}></div>`,
    };
  });
}
