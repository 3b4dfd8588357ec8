/**
 * The FAQ scenario: a tree of nodes per tenant. A category groups questions; a question carries its
 * answer (text, an image, links) and may have follow-up choices (its children) or go to another node
 * instead. Pure: shared by the server, the importer and the staff editor (browser/staff.ts).
 */
import { z } from '../core/zod.ts';

export const NODE_KINDS = ['category', 'question'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];
export const NODE_KIND_LABELS: Record<NodeKind, string> = { category: 'カテゴリ', question: '質問' };

/** A node id: letters, digits, _ and - (postback data carries it). */
export const NODE_ID = /^[A-Za-z0-9_-]{1,40}$/;
/** The feedback target of an AI answer (not a node). */
export const AI_NODE = '_ai';
export const MAX_NODES = 1000;

export interface FaqLink {
  label: string;
  url: string;
}

export interface FaqNode {
  id: string;
  /** '' for the top level (the menu). */
  parentId: string;
  kind: NodeKind;
  /** A category's name or the question. */
  title: string;
  /** Extra words a typed question may use for it. */
  keywords: string[];
  answer: string;
  imageUrl: string;
  links: FaqLink[];
  /** '' or a node shown instead of this one. */
  goTo: string;
}

const https = z
  .string()
  .trim()
  .max(1000, 'URL は 1000 文字以内です')
  .refine((u) => u === '' || /^https:\/\/[^\s]+$/.test(u), 'URL は https:// で始めてください');

export const nodeSchema = z.object({
  id: z.string().trim().regex(NODE_ID, 'ID は半角英数字と _ - で 40 文字以内です'),
  parentId: z.string().trim().default(''),
  kind: z.enum(NODE_KINDS, { message: '種類は category か question です' }),
  title: z.string().trim().min(1, 'タイトル (質問文) を入力してください').max(100, 'タイトルは 100 文字以内です'),
  keywords: z
    .array(z.string().trim().min(1).max(30, 'キーワードは 1 つ 30 文字以内です'))
    .max(20, 'キーワードは 20 個までです')
    .default([]),
  answer: z.string().trim().max(2000, '回答は 2000 文字以内です').default(''),
  imageUrl: https.default(''),
  links: z
    .array(
      z.object({
        label: z.string().trim().min(1, 'リンクの表示名を入力してください').max(20, 'リンクの表示名は 20 文字以内です'),
        url: https.refine((u) => u !== '', 'リンクの URL を入力してください'),
      }),
    )
    .max(3, 'リンクは 3 つまでです')
    .default([]),
  goTo: z.string().trim().default(''),
});

export const scenarioSchema = z.object({
  nodes: z.array(nodeSchema).max(MAX_NODES, `ノードは ${MAX_NODES} 個までです`),
});

/** Problems of a tree as a whole (ids, parents, cycles, go-to targets, answers), in Japanese. */
export function treeProblems(nodes: FaqNode[]): string[] {
  const out: string[] = [];
  const byId = new Map<string, FaqNode>();
  for (const n of nodes) {
    if (byId.has(n.id)) out.push(`ID「${n.id}」が重複しています`);
    byId.set(n.id, n);
  }
  for (const n of nodes) {
    if (n.parentId && !byId.has(n.parentId)) out.push(`「${n.title}」の親 (${n.parentId}) がありません`);
    if (n.parentId === n.id) out.push(`「${n.title}」が自分自身を親にしています`);
    if (n.goTo && !byId.has(n.goTo)) out.push(`「${n.title}」の移動先 (${n.goTo}) がありません`);
    if (n.goTo === n.id) out.push(`「${n.title}」の移動先が自分自身です`);
    if (n.kind === 'question' && !n.goTo && !n.answer) out.push(`質問「${n.title}」に回答がありません`);
    if (n.kind === 'category' && n.goTo) out.push(`カテゴリ「${n.title}」には移動先を設定できません`);
  }
  // cycles through parents
  for (const n of nodes) {
    const seen = new Set<string>();
    let cur: FaqNode | undefined = n;
    while (cur?.parentId) {
      if (seen.has(cur.id)) {
        out.push(`「${n.title}」の親をたどると循環しています`);
        break;
      }
      seen.add(cur.id);
      cur = byId.get(cur.parentId);
    }
  }
  // a go-to chain must end at a node without go-to
  for (const n of nodes) {
    let cur: FaqNode | undefined = n;
    for (let i = 0; cur?.goTo && i <= nodes.length; i++) cur = byId.get(cur.goTo);
    if (cur?.goTo) out.push(`「${n.title}」の移動先をたどると循環しています`);
  }
  return [...new Set(out)];
}

export interface Scenario {
  tenantId: string;
  nodes: FaqNode[];
}

export interface ScenarioVersion {
  number: number;
  note: string;
  publishedBy: string;
  publishedAt: string;
  nodeCount: number;
}

export const settingsSchema = z.object({
  acceptTyped: z.boolean().default(false),
  aiEndpoint: z
    .string()
    .trim()
    .max(500, 'AI の接続先 URL は 500 文字以内です')
    .refine((u) => u === '' || /^https?:\/\/[^\s]+$/.test(u), 'AI の接続先は http:// か https:// で始まる URL です')
    .default(''),
  aiTimeoutMs: z
    .number({ error: 'タイムアウトはミリ秒の数値です' })
    .int('タイムアウトは整数です')
    .min(500, 'タイムアウトは 500 ミリ秒以上です')
    .max(10_000, 'タイムアウトは 10000 ミリ秒 (10 秒) 以下です')
    .default(4000),
  keepUnmatched: z.boolean().default(false),
  retentionDays: z
    .number({ error: '保存期間は日数です' })
    .int('保存期間は整数の日数です')
    .min(1, '保存期間は 1 日以上です')
    .max(365, '保存期間は 365 日以下です')
    .default(90),
  contact: z.string().trim().max(200, '問い合わせ先は 200 文字以内です').default(''),
});
export type FaqSettings = z.output<typeof settingsSchema>;
export const DEFAULT_SETTINGS: FaqSettings = settingsSchema.parse({});

/** A node's children, in the tree's order. */
export function childrenOf(nodes: FaqNode[], id: string): FaqNode[] {
  return nodes.filter((n) => n.parentId === id);
}

/** The node shown for `id` (go-to followed), or undefined. */
export function resolveNode(nodes: FaqNode[], id: string): FaqNode | undefined {
  let cur = nodes.find((n) => n.id === id);
  for (let i = 0; cur?.goTo && i <= nodes.length; i++) {
    const to = cur.goTo;
    cur = nodes.find((n) => n.id === to);
  }
  return cur;
}

/** The titles from the top level down to the node (its path in the tree). */
export function pathOf(nodes: FaqNode[], id: string): FaqNode[] {
  const out: FaqNode[] = [];
  let cur = nodes.find((n) => n.id === id);
  while (cur && out.length <= nodes.length) {
    out.unshift(cur);
    const p = cur.parentId;
    cur = p ? nodes.find((n) => n.id === p) : undefined;
  }
  return out;
}
