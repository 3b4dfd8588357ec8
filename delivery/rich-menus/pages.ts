/**
 * リッチメニュー: the editor's page in the staff shell (/municipalities/:id/rich-menus). Its controls
 * are built by /assets/rich-menu-editor.js over the rich menu API, which checks the tenant and
 * チャネルの管理 again; without that permission the page only shows the menus.
 */
import { fileURLToPath } from 'node:url';
import { hasPermission, requireTenant } from '../../core/auth.ts';
import { AppError } from '../../core/errors.ts';
import { html } from '../../core/html.ts';
import type { PageShell } from '../../core/page-shell.ts';
import { tenantIdSchema } from '../../core/tenants.ts';

const file = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export function registerRichMenuPages(shell: PageShell): void {
  shell.assets({
    'rich-menu-editor.js': file('./browser/rich-menu-editor.ts'),
    'rich-menu-editor.css': file('./public/rich-menu-editor.css'),
  });
  shell.page<{ id: string }>('/municipalities/:id/rich-menus', async ({ req, principal, tenants }) => {
    const id = tenantIdSchema.parse(req.params.id);
    requireTenant(principal, id);
    const tenant = tenants.find((t) => t.id === id);
    if (!tenant) throw new AppError('tenant_not_found', `テナント ${id} は登録されていません`, 404);
    const canEdit = hasPermission(principal, 'manage_channels');
    return {
      title: `${tenant.name} のリッチメニュー`,
      scripts: ['rich-menu-editor.js'],
      styles: ['records.css', 'composer.css', 'rich-menu-editor.css'],
      body: html`<h1>${tenant.name} のリッチメニュー <small><a href="/municipalities/${tenant.id}/delivery-settings">配信設定に戻る</a></small></h1>
${canEdit ? '' : html`<p class="note">このアカウントには「チャネルの管理」の権限がないため、リッチメニューは見るだけです。</p>`}
<div id="rich-menu-editor" data-tenant="${tenant.id}"${canEdit ? html` data-can-edit` : ''}><p class="note">読み込み中…</p></div>`,
    };
  });
}
