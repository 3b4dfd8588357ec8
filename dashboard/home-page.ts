import type { FastifyInstance } from '../core/http.ts';
import type { TenantStore } from '../core/tenants.ts';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The start page: what is running and which accounts are registered. */
export function registerHomePage(app: FastifyInstance, deps: { tenants: TenantStore; sandboxUrl?: () => string | undefined }): void {
  app.get('/', async (_req, reply) => {
    const list = await deps.tenants.list();
    const sandboxUrl = deps.sandboxUrl?.();
    const rows = list
      .map((t) => `<tr><td>${esc(t.id)}</td><td>${esc(t.name)}</td><td>${t.kind === 'prefecture' ? '県' : '市町'}</td>` +
        `<td class="num">${t.population === null ? '—' : t.population.toLocaleString('ja-JP')}</td>` +
        `<td>${t.lineApi === 'sandbox' ? 'サンドボックス' : 'LINE'}</td><td>${t.hasCredentials ? '設定済み' : '未設定'}</td></tr>`)
      .join('');
    const html = `<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>Tayori</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,"IPAexGothic",sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}
th,td{border:1px solid #ccc;padding:.3rem .6rem}th{background:#f3f5f7}.num{text-align:right}</style></head>
<body><h1>Tayori 便り</h1><p>自治体 LINE 公式アカウントの運用・報告スイートが稼働しています。</p>
${sandboxUrl ? `<p>LINE サンドボックス: <code>${esc(sandboxUrl)}</code> (実際の LINE には接続していません)</p>` : ''}
<h2>登録アカウント (${list.length} 件)</h2>
<table><thead><tr><th>コード</th><th>名称</th><th>種別</th><th>人口</th><th>接続先</th><th>チャネル情報</th></tr></thead>
<tbody>${rows}</tbody></table>
<p><a href="/readyz">稼働状況 (/readyz)</a></p></body></html>`;
    return reply.type('text/html; charset=utf-8').send(html);
  });
}
