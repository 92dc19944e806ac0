/**
 * The attribution graph drawn in SVG on the layer × position grid: edges coloured by sign (blue positive, red
 * negative) and as thick as |weight| relative to the strongest shown, nodes shaped by role (features circles,
 * errors squares, embeddings and logits wide boxes), pinned nodes filled, supernodes outlined with their name.
 * Hovering a node highlights its edges; a click pins or unpins it.
 */
import { memo, useMemo } from 'react';
import type { FilteredGraph, ScoredLink } from './graph-filter';
import type { GraphLayout } from './graph-layout';
import type { ViewGraph, ViewNode } from './graph-model';
import type { Supernode } from './graph-state';

export interface GraphCanvasProps {
  graph: ViewGraph;
  layout: GraphLayout;
  shown: FilteredGraph;
  pinned: ReadonlySet<string>;
  supernodes: readonly Supernode[];
  hovered: string | null;
  /** Nodes to mark (e.g. the contributors of a QK-tracing result). */
  marked: ReadonlySet<string>;
  labels: Readonly<Record<string, string>>;
  onHover: (id: string | null) => void;
  onToggle: (id: string) => void;
}

const POSITIVE = 'var(--mantine-color-blue-6)';
const NEGATIVE = 'var(--mantine-color-red-6)';

function Edges({ links, layout, hovered }: { links: ScoredLink[]; layout: GraphLayout; hovered: string | null }) {
  const max = links.reduce((m, l) => Math.max(m, Math.abs(l.weight)), 0) || 1;
  return (
    <g data-testid="graph-edges">
      {links.map((l) => {
        const a = layout.at.get(l.source);
        const b = layout.at.get(l.target);
        if (!a || !b) return null;
        const touches = hovered !== null && (l.source === hovered || l.target === hovered);
        const opacity = hovered === null ? 0.5 : touches ? 0.9 : 0.08;
        const midY = (a.y + b.y) / 2;
        return (
          <path
            key={`${l.source}>${l.target}`}
            className="graph-edge"
            d={`M${a.x},${a.y} C${a.x},${midY} ${b.x},${midY} ${b.x},${b.y}`}
            fill="none"
            stroke={l.weight >= 0 ? POSITIVE : NEGATIVE}
            strokeWidth={0.4 + 3.6 * (Math.abs(l.weight) / max)}
            strokeOpacity={opacity}
          />
        );
      })}
    </g>
  );
}

function NodeShape({ n, pinned }: { n: ViewNode; pinned: boolean }) {
  const fill = pinned ? 'var(--mantine-color-orange-5)' : 'var(--mantine-color-body)';
  const common = { fill, stroke: 'var(--mantine-color-text)', strokeWidth: 1.2 };
  if (n.role === 'embedding' || n.role === 'logit')
    return <rect x={-9} y={-6} width={18} height={12} rx={2} {...common} />;
  if (n.role === 'error' || n.role === 'bias') return <rect x={-5} y={-5} width={10} height={10} {...common} />;
  if (n.sublayer === 'attn') return <path d="M0,-7 L7,0 L0,7 L-7,0 Z" {...common} />;
  return <circle r={6} {...common} />;
}

/** A logit's token above it; a pinned node's label beside it. */
function NodeCaption({ n, pinned, label }: { n: ViewNode; pinned: boolean; label: string | undefined }) {
  const fill = 'var(--mantine-color-text)';
  if (n.role === 'logit')
    return (
      <text y={-10} fontSize={10} textAnchor="middle" fill={fill}>
        {shorten(n.token ?? '', 10)}
      </text>
    );
  if (!pinned || n.role === 'embedding') return null;
  return (
    <text x={10} y={4} fontSize={10} fill={fill}>
      {shorten(label ?? n.label, 22)}
    </text>
  );
}

function Supernodes({ supernodes, layout }: { supernodes: readonly Supernode[]; layout: GraphLayout }) {
  return (
    <g data-testid="graph-supernodes">
      {supernodes.map((s) => {
        const pts = s.members.map((m) => layout.at.get(m)).filter((p) => p !== undefined);
        if (pts.length === 0) return null;
        const x0 = Math.min(...pts.map((p) => p.x)) - 12;
        const x1 = Math.max(...pts.map((p) => p.x)) + 12;
        const y0 = Math.min(...pts.map((p) => p.y)) - 12;
        const y1 = Math.max(...pts.map((p) => p.y)) + 12;
        return (
          <g key={s.name} className="graph-supernode">
            <rect
              x={x0}
              y={y0}
              width={x1 - x0}
              height={y1 - y0}
              rx={8}
              fill="var(--mantine-color-orange-light)"
              stroke="var(--mantine-color-orange-7)"
              strokeDasharray="4 3"
            />
            <text x={x0 + 4} y={y0 - 3} fontSize={11} fill="var(--mantine-color-orange-8)">
              {s.name}
            </text>
          </g>
        );
      })}
    </g>
  );
}

function Grid({ layout }: { layout: GraphLayout }) {
  const bottom = layout.height - 30;
  return (
    <g className="graph-grid">
      {layout.rows.map((r) => (
        <g key={r.key}>
          <line
            x1={layout.columns[0]?.x0 ?? 0}
            x2={layout.width}
            y1={r.y}
            y2={r.y}
            stroke="var(--mantine-color-default-border)"
          />
          <text x={4} y={r.y + 4} fontSize={11} fill="var(--mantine-color-dimmed)">
            {r.label}
          </text>
        </g>
      ))}
      {layout.columns.map((c) => (
        <g key={c.pos}>
          <line
            x1={c.x0}
            x2={c.x0}
            y1={8}
            y2={bottom}
            stroke="var(--mantine-color-default-border)"
            strokeDasharray="2 4"
          />
          <text
            x={(c.x0 + c.x1) / 2}
            y={bottom + 16}
            fontSize={11}
            textAnchor="middle"
            fill="var(--mantine-color-text)"
          >
            {shorten(c.token, Math.max(2, Math.floor((c.x1 - c.x0) / 7)))}
          </text>
        </g>
      ))}
    </g>
  );
}

function shorten(token: string, max: number): string {
  const t = token.replace(/\n/g, '↵');
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

export const GraphCanvas = memo(function GraphCanvas(props: GraphCanvasProps) {
  const { graph, layout, shown, pinned, hovered, marked, labels, onHover, onToggle } = props;
  const nodes = useMemo(() => graph.nodes.filter((n) => layout.at.has(n.id)), [graph, layout]);
  return (
    <svg
      width={layout.width}
      height={layout.height}
      role="img"
      aria-label="attribution graph"
      data-testid="graph-canvas"
      style={{ display: 'block', userSelect: 'none' }}
      onMouseLeave={() => onHover(null)}
    >
      <Grid layout={layout} />
      <Supernodes supernodes={props.supernodes} layout={layout} />
      <Edges links={shown.links} layout={layout} hovered={hovered} />
      <g>
        {nodes.map((n) => {
          const p = layout.at.get(n.id)!;
          const isPinned = pinned.has(n.id);
          return (
            <g
              key={n.id}
              transform={`translate(${p.x},${p.y})`}
              className="graph-node"
              data-testid="graph-node"
              data-node-id={n.id}
              data-pinned={isPinned ? 'true' : 'false'}
              role="button"
              tabIndex={0}
              aria-label={labels[n.id] ?? n.label}
              style={{ cursor: 'pointer' }}
              onMouseEnter={() => onHover(n.id)}
              onFocus={() => onHover(n.id)}
              onClick={() => onToggle(n.id)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  onToggle(n.id);
                }
              }}
            >
              {(hovered === n.id || marked.has(n.id)) && (
                <circle r={11} fill="none" stroke="var(--mantine-color-yellow-6)" strokeWidth={2.5} />
              )}
              <NodeShape n={n} pinned={isPinned} />
              <NodeCaption n={n} pinned={isPinned} label={labels[n.id]} />
              <title>{labels[n.id] ?? n.label}</title>
            </g>
          );
        })}
      </g>
    </svg>
  );
});
