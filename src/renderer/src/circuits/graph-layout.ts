/**
 * The layer × position layout researchers know from the attribution-graph frontends: one column per prompt
 * position (left to right), one row per sublayer (embeddings at the bottom, then per layer the attention row — only
 * when the graph has Lorsa nodes — and the MLP row, and the logits on top). A column is as wide as its most crowded
 * cell needs; within a cell the nodes stand side by side, the most influential first.
 */
import type { ViewGraph, ViewNode } from './graph-model';

export interface LayoutRow {
  key: string;
  label: string;
  y: number;
}

export interface LayoutColumn {
  pos: number;
  token: string;
  x0: number;
  x1: number;
}

export interface GraphLayout {
  width: number;
  height: number;
  rows: LayoutRow[];
  columns: LayoutColumn[];
  /** Each placed node's centre. */
  at: Map<string, { x: number; y: number }>;
}

export interface LayoutOptions {
  width: number;
  /** Vertical distance between rows. */
  rowHeight?: number;
  /** Room on the left for row labels, at the bottom for the prompt tokens. */
  marginLeft?: number;
  marginBottom?: number;
  marginTop?: number;
}

/** Narrowest column, and the room each node of a column's most crowded cell gets. */
const MIN_COLUMN = 40;
const NODE_SPACING = 16;

/** The row of a node: 0 = embeddings; per layer L, attn then mlp; the logits on top. */
export function rowIndex(n: ViewNode, nLayers: number, hasAttn: boolean): number {
  const perLayer = hasAttn ? 2 : 1;
  if (n.role === 'embedding') return 0;
  if (n.role === 'logit') return 1 + perLayer * nLayers;
  const sub = hasAttn && n.sublayer === 'mlp' ? 1 : 0;
  return 1 + perLayer * Math.min(n.layer, nLayers - 1) + sub;
}

export function rowLabels(nLayers: number, hasAttn: boolean): string[] {
  const labels = ['Emb'];
  for (let l = 0; l < nLayers; l++) {
    if (hasAttn) labels.push(`L${l} attn`, `L${l} mlp`);
    else labels.push(`L${l}`);
  }
  labels.push('Logits');
  return labels;
}

/** Within a cell: logits by probability; others the most influential first (smallest cumulative influence). */
function cellOrder(a: ViewNode, b: ViewNode): number {
  if (a.role === 'logit' && b.role === 'logit' && a.tokenProb !== b.tokenProb)
    return (b.tokenProb ?? 0) - (a.tokenProb ?? 0);
  const ia = a.influence ?? Infinity;
  const ib = b.influence ?? Infinity;
  if (ia !== ib) return ia - ib;
  return (a.featureIndex ?? -1) - (b.featureIndex ?? -1) || a.id.localeCompare(b.id);
}

/** Places `visible` (ids of g's nodes) on the grid. */
export function layoutGraph(g: ViewGraph, visible: ReadonlySet<string>, options: LayoutOptions): GraphLayout {
  const rowHeight = options.rowHeight ?? 56;
  const marginLeft = options.marginLeft ?? 72;
  const marginBottom = options.marginBottom ?? 44;
  const marginTop = options.marginTop ?? 24;
  const labels = rowLabels(g.nLayers, g.hasAttn);
  const nPos = g.promptTokens.length;

  const cells = new Map<string, ViewNode[]>();
  for (const n of g.nodes) {
    if (!visible.has(n.id)) continue;
    const key = `${rowIndex(n, g.nLayers, g.hasAttn)}:${n.pos}`;
    const list = cells.get(key);
    if (list) list.push(n);
    else cells.set(key, [n]);
  }
  const crowd = new Array<number>(nPos).fill(1);
  for (const [key, list] of cells) {
    const pos = Number(key.split(':')[1]);
    crowd[pos] = Math.max(crowd[pos] ?? 1, list.length);
  }
  // Each column asks for room for its most crowded cell; a wide window spreads the columns in proportion, a narrow
  // one makes the graph wider than the window (it scrolls) rather than stack nodes on top of each other.
  const need = crowd.map((c) => Math.max(MIN_COLUMN, NODE_SPACING * c));
  const totalNeed = need.reduce((a, b) => a + b, 0) || 1;
  const inner = Math.max(options.width - marginLeft - 8, totalNeed);
  const columns: LayoutColumn[] = [];
  let x = marginLeft;
  for (let p = 0; p < nPos; p++) {
    const w = (inner * (need[p] ?? MIN_COLUMN)) / totalNeed;
    columns.push({ pos: p, token: g.promptTokens[p] ?? '', x0: x, x1: x + w });
    x += w;
  }

  const height = marginTop + rowHeight * (labels.length - 1) + marginBottom + 8;
  const yOf = (row: number) => marginTop + rowHeight * (labels.length - 1 - row);
  const rows = labels.map((label, i) => ({ key: `row-${i}`, label, y: yOf(i) }));

  const at = new Map<string, { x: number; y: number }>();
  for (const [key, list] of cells) {
    const [row = 0, pos = 0] = key.split(':').map(Number);
    const col = columns[pos];
    if (!col) continue;
    list.sort(cellOrder);
    const step = (col.x1 - col.x0) / list.length;
    list.forEach((n, i) => at.set(n.id, { x: col.x0 + step * (i + 0.5), y: yOf(row) }));
  }
  return { width: marginLeft + inner + 8, height, rows, columns, at };
}
