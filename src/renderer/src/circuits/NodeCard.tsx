/**
 * The card of the node under the pointer: what it is (role, layer, sublayer, position, activation, influence) and,
 * for a feature whose dictionary is in the store, its interpretation and top activating samples from the feature
 * browser's data — the link from a graph to the features it is made of.
 */
import { Anchor, Badge, Card, Group, Stack, Text } from '@mantine/core';
import type { GraphDictionary } from '../../../protocol/graphs';
import { useLoad } from '../client/studio';
import { fmtNum, tokenLabel } from '../components/format';
import { TokenText } from '../components/TokenText';
import { Link } from '../router';
import type { ViewGraph, ViewNode } from './graph-model';

/** The store's dictionary of a feature node, by its layer and sublayer. */
export function nodeDictionary(n: ViewNode, dictionaries: readonly GraphDictionary[]): string | null {
  if (n.role !== 'feature' || n.featureIndex === null) return null;
  return dictionaries.find((d) => d.layer === n.layer && d.sublayer === n.sublayer)?.name ?? null;
}

function FeatureData({ dictionary, index }: { dictionary: string; index: number }) {
  const state = useLoad((c) => c.getFeature({ dictionary, index }), [dictionary, index]);
  if (state.error)
    return (
      <Text size="xs" c="red">
        {state.error}
      </Text>
    );
  const d = state.data;
  if (!d)
    return (
      <Text size="xs" c="dimmed">
        Loading the feature…
      </Text>
    );
  const samples = d.samplings[0]?.samples.slice(0, 3) ?? [];
  return (
    <Stack gap={6} data-testid="node-card-feature">
      <Text size="sm">
        <Anchor component={Link} to={`/dictionaries/${encodeURIComponent(dictionary)}/features/${index}`}>
          {dictionary} #{index}
        </Anchor>
      </Text>
      <Text size="sm" fs={d.interpretation ? undefined : 'italic'} c={d.interpretation ? undefined : 'dimmed'}>
        {d.interpretation?.text ?? 'No interpretation yet.'}
      </Text>
      {d.stats && (
        <Text size="xs" c="dimmed">
          max {fmtNum(d.stats.maxActivation)} · frequency {fmtNum(d.stats.frequency)}
        </Text>
      )}
      {samples.map((s) => (
        <TokenText key={s.rank} tokens={s.tokens.slice(-24)} values={s.activations.slice(-24)} />
      ))}
      {samples.length === 0 && (
        <Text size="xs" c="dimmed">
          No analysed samples for this feature.
        </Text>
      )}
    </Stack>
  );
}

export function NodeCard({
  graph,
  node,
  label,
  dictionaries,
}: {
  graph: ViewGraph;
  node: ViewNode | null;
  label: string | undefined;
  dictionaries: readonly GraphDictionary[];
}) {
  if (!node)
    return (
      <Card withBorder padding="sm" data-testid="node-card">
        <Text size="sm" c="dimmed">
          Hover a node to see it here; click it to pin it.
        </Text>
      </Card>
    );
  const dictionary = nodeDictionary(node, dictionaries);
  const where =
    node.role === 'embedding'
      ? 'embedding'
      : node.role === 'logit'
        ? 'logit'
        : `layer ${node.layer} ${node.sublayer ?? ''} ${node.role}`;
  return (
    <Card withBorder padding="sm" data-testid="node-card">
      <Stack gap={6}>
        <Group gap={6} wrap="nowrap" justify="space-between">
          <Text fw={600} size="sm" data-testid="node-card-label" style={{ overflowWrap: 'anywhere' }}>
            {label ?? node.label}
          </Text>
          <Badge variant="light" color={node.sublayer === 'attn' ? 'grape' : 'gray'}>
            {node.role === 'feature' && node.sublayer === 'attn' ? 'lorsa' : node.role}
          </Badge>
        </Group>
        <Text size="xs" c="dimmed">
          {where} · position {node.pos}{' '}
          <span className="token-chip">{tokenLabel(graph.promptTokens[node.pos] ?? '')}</span>
          {node.featureIndex !== null && ` · feature ${node.featureIndex}`}
        </Text>
        <Text size="xs" className="num">
          {node.activation !== null && `activation ${fmtNum(node.activation)} · `}
          {node.influence !== null && `influence ${fmtNum(node.influence)}`}
          {node.role === 'logit' && node.tokenProb !== null && `p = ${fmtNum(node.tokenProb)}`}
        </Text>
        {dictionary !== null && node.featureIndex !== null ? (
          <FeatureData dictionary={dictionary} index={node.featureIndex} />
        ) : (
          node.role === 'feature' && (
            <Text size="xs" c="dimmed">
              This graph's dictionaries are not in the store: no samples to show.
            </Text>
          )
        )}
      </Stack>
    </Card>
  );
}
