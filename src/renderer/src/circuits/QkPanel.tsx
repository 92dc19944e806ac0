/**
 * QK tracing of a Lorsa node (spec §7): what its head's attention score to the chosen key comes from — the top
 * query-side and key-side marginal contributors and the top bilinear (query, key) pairs, each with its signed value.
 * Contributor ids resolve to the graph's nodes or to its qk_only_nodes; hovering a row marks its nodes in the graph.
 */
import { Card, Stack, Table, Text, Title } from '@mantine/core';
import { fmtNum } from '../components/format';
import { resolveNode, type ViewGraph, type ViewNode } from './graph-model';

function name(g: ViewGraph, id: string, labels: Readonly<Record<string, string>>): string {
  const n = resolveNode(g, id);
  if (!n) return id;
  return `${labels[id] ?? n.label} @${n.pos}`;
}

function Rows({
  title,
  rows,
  onMark,
  testId,
}: {
  title: string;
  rows: { key: string; ids: string[]; text: string; value: number }[];
  onMark: (ids: string[]) => void;
  testId: string;
}) {
  return (
    <div>
      <Text size="xs" fw={600} mb={2}>
        {title}
      </Text>
      {rows.length === 0 ? (
        <Text size="xs" c="dimmed">
          none
        </Text>
      ) : (
        <Table withRowBorders={false} verticalSpacing={1} fz="xs" data-testid={testId}>
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={r.key} onMouseEnter={() => onMark(r.ids)} onMouseLeave={() => onMark([])}>
                <Table.Td style={{ overflowWrap: 'anywhere' }}>{r.text}</Table.Td>
                <Table.Td ta="right" className="num" c={r.value >= 0 ? 'blue' : 'red'}>
                  {fmtNum(r.value, 3)}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </div>
  );
}

export function QkPanel({
  graph,
  node,
  labels,
  onMark,
}: {
  graph: ViewGraph;
  node: ViewNode;
  labels: Readonly<Record<string, string>>;
  onMark: (ids: string[]) => void;
}) {
  const qk = node.qk;
  if (!qk) return null;
  const marginal = (list: [string, number][]) =>
    list.map(([id, value], i) => ({ key: `${i}:${id}`, ids: [id], text: name(graph, id, labels), value }));
  const pairs = qk.pair_wise_contributors.map(([q, k, value], i) => ({
    key: `${i}:${q}:${k}`,
    ids: [q, k],
    text: `${name(graph, q, labels)} × ${name(graph, k, labels)}`,
    value,
  }));
  return (
    <Card withBorder padding="sm" data-testid="qk-panel">
      <Stack gap="xs">
        <Title order={5}>QK tracing · {labels[node.id] ?? node.label}</Title>
        <Text size="xs" c="dimmed">
          What the attention score of this Lorsa head at position {node.pos} comes from.
        </Text>
        <Rows title="Query side" rows={marginal(qk.top_q_marginal_contributors)} onMark={onMark} testId="qk-q" />
        <Rows title="Key side" rows={marginal(qk.top_k_marginal_contributors)} onMark={onMark} testId="qk-k" />
        <Rows title="Query × key pairs" rows={pairs} onMark={onMark} testId="qk-pairs" />
      </Stack>
    </Card>
  );
}
