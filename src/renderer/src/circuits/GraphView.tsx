/**
 * One attribution graph to explore: the node and edge threshold sliders, the graph on the layer × position grid,
 * and beside it the card of the hovered node, the next-token probabilities, the pinned set with its supernodes and
 * subgraph scores, and the QK tracing of the last Lorsa node touched. Exports the graph as shown and the pinned
 * subgraph (with supernodes and labels) as graph JSON.
 */
import { Box, Button, Grid, Group, Slider, Stack, Text } from '@mantine/core';
import { useElementSize } from '@mantine/hooks';
import { useCallback, useMemo, useState } from 'react';
import type { GraphDictionary } from '../../../protocol/graphs';
import { fmtInt } from '../components/format';
import { filterGraph, type FilteredGraph } from './graph-filter';
import { layoutGraph } from './graph-layout';
import { nextTokenProbabilities, type ViewGraph } from './graph-model';
import {
  addSupernode,
  downloadJson,
  exportShownGraph,
  exportSubgraph,
  removeSupernode,
  setLabel,
  stateFromJson,
  togglePin,
  type ExploreState,
} from './graph-state';
import { GraphCanvas } from './GraphCanvas';
import { LogitProbs } from './LogitProbs';
import { NodeCard } from './NodeCard';
import { PinnedPanel } from './PinnedPanel';
import { QkPanel } from './QkPanel';
import { MAX_SCORED_NODES, pinnedSubgraphScores } from './subgraph-scores';

/** Neuronpedia's default for the dynamic node slider, when the graph does not name one. */
const DEFAULT_NODE_THRESHOLD = 0.6;
const DEFAULT_EDGE_THRESHOLD = 0.98;

function ThresholdSlider(props: { label: string; value: number; onChange: (v: number) => void; testId: string }) {
  return (
    <Box style={{ flex: 1, minWidth: 180 }}>
      <Text size="xs" mb={2}>
        {props.label} <span className="num">{props.value.toFixed(2)}</span>
      </Text>
      <Slider
        min={0.01}
        max={1}
        step={0.01}
        value={props.value}
        onChange={props.onChange}
        label={(v) => v.toFixed(2)}
        data-testid={props.testId}
        thumbLabel={props.label}
      />
    </Box>
  );
}

/** The pinned subgraph's scores; a graph the score functions refuse (a cycle) gives its reason instead. */
function scoresOrProblem(graph: ViewGraph, state: ExploreState) {
  if (state.pinned.length > 0 && graph.nodes.length > MAX_SCORED_NODES) {
    const problem = `subgraph scores are computed here for graphs of at most ${MAX_SCORED_NODES} nodes (this one has ${graph.nodes.length})`;
    return { scores: null, problem };
  }
  try {
    return { scores: pinnedSubgraphScores(graph, state), problem: null };
  } catch (err) {
    return { scores: null, problem: `no subgraph scores: ${err instanceof Error ? err.message : String(err)}` };
  }
}

interface ToolbarProps {
  graph: ViewGraph;
  shown: FilteredGraph;
  state: ExploreState;
  nodeThreshold: number;
  edgeThreshold: number;
  onNodeThreshold: (v: number) => void;
  onEdgeThreshold: (v: number) => void;
}

/** The threshold sliders, what they leave shown, and the two exports. */
function GraphToolbar({ graph, shown, state, ...p }: ToolbarProps) {
  const slug = graph.json.metadata.slug;
  return (
    <>
      <Group align="flex-end" gap="lg">
        <ThresholdSlider
          label="Node threshold"
          value={p.nodeThreshold}
          onChange={p.onNodeThreshold}
          testId="node-threshold"
        />
        <ThresholdSlider
          label="Edge threshold"
          value={p.edgeThreshold}
          onChange={p.onEdgeThreshold}
          testId="edge-threshold"
        />
      </Group>
      <Group justify="space-between">
        <Text size="xs" c="dimmed" data-testid="graph-counts">
          {fmtInt(shown.nodes.size)} of {fmtInt(graph.nodes.length)} nodes · {fmtInt(shown.links.length)} of{' '}
          {fmtInt(graph.links.length)} edges
        </Text>
        <Group gap="xs">
          <Button
            size="xs"
            variant="default"
            data-testid="export-graph"
            onClick={() => downloadJson(exportShownGraph(graph, shown, state, p.nodeThreshold), slug)}
          >
            Export graph
          </Button>
          <Button
            size="xs"
            variant="default"
            data-testid="export-subgraph"
            disabled={state.pinned.length === 0}
            onClick={() => downloadJson(exportSubgraph(graph, state), `${slug}-subgraph`)}
          >
            Export pinned subgraph
          </Button>
        </Group>
      </Group>
    </>
  );
}

export function GraphView({ graph, dictionaries }: { graph: ViewGraph; dictionaries: readonly GraphDictionary[] }) {
  const [nodeThreshold, setNodeThreshold] = useState(graph.json.metadata.node_threshold ?? DEFAULT_NODE_THRESHOLD);
  const [edgeThreshold, setEdgeThreshold] = useState(DEFAULT_EDGE_THRESHOLD);
  const [state, setState] = useState<ExploreState>(() => stateFromJson(graph));
  const [hovered, setHovered] = useState<string | null>(null);
  const [cardId, setCardId] = useState<string | null>(null);
  const [qkId, setQkId] = useState<string | null>(() => graph.nodes.find((n) => n.qk)?.id ?? null);
  const [marked, setMarked] = useState<ReadonlySet<string>>(new Set());
  const [problem, setProblem] = useState<string | null>(null);
  const { ref, width } = useElementSize();

  const pinned = useMemo(() => new Set(state.pinned), [state.pinned]);
  const shown = useMemo(
    () => filterGraph(graph, { nodeThreshold, edgeThreshold, pinned }),
    [graph, nodeThreshold, edgeThreshold, pinned],
  );
  // The frame's measured content width (0 before the first measurement: the layout then takes what it needs).
  const layout = useMemo(() => layoutGraph(graph, shown.nodes, { width }), [graph, shown, width]);
  const scored = useMemo(() => scoresOrProblem(graph, state), [graph, state]);
  const tokens = useMemo(() => nextTokenProbabilities(graph), [graph]);

  const hover = useCallback(
    (id: string | null) => {
      setHovered(id);
      if (id === null) return;
      setCardId(id);
      if (graph.byId.get(id)?.qk) setQkId(id);
    },
    [graph],
  );
  const toggle = useCallback((id: string) => setState((s) => togglePin(s, id)), []);
  const act = (fn: () => void) => {
    try {
      fn();
      setProblem(null);
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err));
    }
  };
  const card = cardId === null ? null : (graph.byId.get(cardId) ?? null);
  const qkNode = qkId === null ? null : (graph.byId.get(qkId) ?? null);

  return (
    <Grid gap="md">
      <Grid.Col span={{ base: 12, lg: 8 }}>
        <Stack gap="xs">
          <GraphToolbar
            graph={graph}
            shown={shown}
            state={state}
            nodeThreshold={nodeThreshold}
            edgeThreshold={edgeThreshold}
            onNodeThreshold={setNodeThreshold}
            onEdgeThreshold={setEdgeThreshold}
          />
          <Box
            ref={ref}
            style={{ overflowX: 'auto', border: '1px solid var(--mantine-color-default-border)', borderRadius: 8 }}
          >
            <GraphCanvas
              graph={graph}
              layout={layout}
              shown={shown}
              pinned={pinned}
              supernodes={state.supernodes}
              hovered={hovered}
              marked={marked}
              labels={state.labels}
              onHover={hover}
              onToggle={toggle}
            />
          </Box>
          {problem && (
            <Text size="xs" c="red" role="alert">
              {problem}
            </Text>
          )}
        </Stack>
      </Grid.Col>
      <Grid.Col span={{ base: 12, lg: 4 }}>
        <Stack gap="sm">
          <NodeCard
            graph={graph}
            node={card}
            label={card ? state.labels[card.id] : undefined}
            dictionaries={dictionaries}
          />
          <PinnedPanel
            graph={graph}
            state={state}
            scores={scored.scores}
            scoresProblem={scored.problem}
            onUnpin={toggle}
            onLabel={(id, label) => setState((s) => setLabel(s, id, label))}
            onSupernode={(name, members) => act(() => setState(addSupernode(state, name, members)))}
            onRemoveSupernode={(name) => setState((s) => removeSupernode(s, name))}
            onHover={hover}
          />
          <LogitProbs tokens={tokens} onHover={hover} />
          {qkNode && (
            <QkPanel graph={graph} node={qkNode} labels={state.labels} onMark={(ids) => setMarked(new Set(ids))} />
          )}
        </Stack>
      </Grid.Col>
    </Grid>
  );
}
