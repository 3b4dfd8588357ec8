/**
 * The flow view: the scenario tree (and its go-to jumps) laid out by ELK's layered algorithm (elkjs,
 * left to right) and drawn as SVG, each node with its views and resolution rate, its いいえ and the typed
 * questions after it that ended in the fallback (the menu: those typed before choosing anything). The SVG is built with
 * the escaping html helper and styled by attributes only (the page's CSP allows no inline style).
 */
import elkModule from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import { html, type SafeHtml } from '../core/html.ts';
import { type FaqNode, NODE_KIND_LABELS } from './schemas.ts';
import { FAQ_TOP_NODE } from '../metrics/index.ts';
import type { NodeStat } from './stats.ts';

const W = 220;
const H = 82;
const ROOT = '__menu';
// a CommonJS module: its default export is the constructor (typed as the namespace's default)
const ELK = ((elkModule as unknown as { default?: unknown }).default ??
  elkModule) as typeof import('elkjs/lib/elk-api.js').default;
const elk = new ELK();

export interface FlowLayout {
  width: number;
  height: number;
  nodes: Array<{ id: string; x: number; y: number; node?: FaqNode }>;
  edges: Array<{ id: string; jump: boolean; points: Array<{ x: number; y: number }> }>;
}

/** ELK's layout of the tree: a menu node, parent → child edges, and dashed go-to edges. */
export async function layoutFlow(nodes: FaqNode[]): Promise<FlowLayout> {
  const ids = new Set(nodes.map((n) => n.id));
  const children: ElkNode[] = [
    { id: ROOT, width: W, height: H },
    ...nodes.map((n) => ({ id: n.id, width: W, height: H })),
  ];
  const edges: ElkExtendedEdge[] = nodes.map((n) => ({
    id: `t:${n.id}`,
    sources: [n.parentId && ids.has(n.parentId) ? n.parentId : ROOT],
    targets: [n.id],
  }));
  for (const n of nodes)
    if (n.goTo && ids.has(n.goTo)) edges.push({ id: `g:${n.id}`, sources: [n.id], targets: [n.goTo] });
  const graph: ElkNode = {
    id: 'faq',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.layered.spacing.nodeNodeBetweenLayers': '60',
      'elk.spacing.nodeNode': '16',
      'elk.padding': '[top=16,left=16,bottom=16,right=16]',
    },
    children,
    edges,
  };
  const g: ElkNode = await elk.layout(graph);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return {
    width: Math.ceil(g.width ?? 0),
    height: Math.ceil(g.height ?? 0),
    nodes: (g.children ?? []).map((c) => ({ id: c.id, x: c.x ?? 0, y: c.y ?? 0, node: byId.get(c.id) })),
    edges: (g.edges ?? []).map((e) => {
      const s = (e as ElkExtendedEdge).sections?.[0];
      const points = s ? [s.startPoint, ...(s.bendPoints ?? []), s.endPoint] : [];
      return { id: e.id, jump: e.id.startsWith('g:'), points };
    }),
  };
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const pct = (r: number | null) => (r === null ? '—' : `${Math.round(r * 100)}%`);

/** The flow view as an SVG element (width/height in px), each node's figures on it. */
export async function flowSvg(
  nodes: FaqNode[],
  stats: Map<string, NodeStat>,
  title = 'シナリオの流れ',
): Promise<SafeHtml> {
  const l = await layoutFlow(nodes);
  const edges = l.edges.map(
    (e) =>
      html`<polyline points="${e.points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ')}" fill="none" stroke="${e.jump ? '#8a4b00' : '#5a6470'}" stroke-width="1.5"${e.jump ? html` stroke-dasharray="6 4"` : ''} marker-end="url(#faq-arrow)"/>`,
  );
  const boxes = l.nodes.map((b) => {
    const count = (n: number | undefined) => (n ?? 0).toLocaleString('ja-JP');
    if (!b.node) {
      const top = stats.get(FAQ_TOP_NODE);
      return html`<g data-node="menu"><rect x="${b.x}" y="${b.y}" width="${W}" height="${H}" rx="8" fill="#0b5394" stroke="#0b5394"/><text x="${b.x + 12}" y="${b.y + 32}" fill="#ffffff" font-size="15" font-weight="bold">メニュー (入口)</text>
<text x="${b.x + 12}" y="${b.y + 60}" fill="#ffffff" font-size="12" data-testid="flow-endings">選ばずに入力 → 案内 ${count(top?.fallback)}</text></g>`;
    }
    const n = b.node;
    const s = stats.get(n.id);
    const cat = n.kind === 'category';
    return html`<g data-node="${n.id}"><title>${NODE_KIND_LABELS[n.kind]}: ${n.title}</title><rect x="${b.x}" y="${b.y}" width="${W}" height="${H}" rx="6" fill="${cat ? '#e8f0fa' : '#ffffff'}" stroke="${cat ? '#0b5394' : '#5a6470'}" stroke-width="1.5"/>
<text x="${b.x + 10}" y="${b.y + 22}" fill="#1a1a1a" font-size="13" font-weight="${cat ? 'bold' : 'normal'}">${cut(n.title, 15)}</text>
<text x="${b.x + 10}" y="${b.y + 46}" fill="#333333" font-size="12" data-testid="flow-figures">表示 ${count(s?.views)}${cat ? '' : html` ・ 解決率 ${pct(s?.rate ?? null)}`}</text>
<text x="${b.x + 10}" y="${b.y + 68}" fill="#8a1c00" font-size="12" data-testid="flow-endings">${cat ? '' : html`いいえ ${count(s?.no)} ・ `}案内 ${count(s?.fallback)}</text></g>`;
  });
  return html`<svg xmlns="http://www.w3.org/2000/svg" width="${l.width}" height="${l.height}" viewBox="0 0 ${l.width} ${l.height}" role="img" aria-label="${title}" font-family="'IPAexGothic','Noto Sans JP',sans-serif">
<title>${title}</title>
<defs><marker id="faq-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#5a6470"/></marker></defs>
<rect width="100%" height="100%" fill="#ffffff"/>
${edges}
${boxes}
</svg>`;
}
