/**
 * The pinned set: each pinned node with its own label, grouping checked nodes into a named supernode, the
 * supernodes with their members, and the replacement and completeness scores of the pinned subgraph.
 */
import { ActionIcon, Badge, Button, Card, Checkbox, Group, Stack, Text, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { fmtNum } from '../components/format';
import type { ViewGraph } from './graph-model';
import type { ExploreState } from './graph-state';

export interface SubgraphScores {
  replacement: number;
  completeness: number;
}

export interface PinnedPanelProps {
  graph: ViewGraph;
  state: ExploreState;
  scores: SubgraphScores | null;
  /** Why there are no scores, when they could not be computed. */
  scoresProblem?: string | null;
  onUnpin: (id: string) => void;
  onLabel: (id: string, label: string) => void;
  onSupernode: (name: string, members: string[]) => void;
  onRemoveSupernode: (name: string) => void;
  onHover: (id: string | null) => void;
}

export function PinnedPanel(props: PinnedPanelProps) {
  const { graph, state, scores } = props;
  const [checked, setChecked] = useState<string[]>([]);
  const [name, setName] = useState('');
  const chosen = checked.filter((id) => state.pinned.includes(id));
  const canGroup = chosen.length >= 2 && name.trim() !== '';
  const group = () => {
    props.onSupernode(name, chosen);
    setChecked([]);
    setName('');
  };
  return (
    <Card withBorder padding="sm" data-testid="pinned-panel">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={5}>Pinned ({state.pinned.length})</Title>
          {scores && (
            <Group gap={4}>
              <Badge variant="light" data-testid="score-replacement">
                replacement {fmtNum(scores.replacement, 3)}
              </Badge>
              <Badge variant="light" color="teal" data-testid="score-completeness">
                completeness {fmtNum(scores.completeness, 3)}
              </Badge>
            </Group>
          )}
        </Group>
        {props.scoresProblem && (
          <Text size="xs" c="red">
            {props.scoresProblem}
          </Text>
        )}
        {state.pinned.length === 0 && (
          <Text size="xs" c="dimmed">
            Click nodes in the graph to pin them; check two or more to group them into a supernode.
          </Text>
        )}
        {state.pinned.map((id) => {
          const n = graph.byId.get(id);
          return (
            <Group key={id} gap={6} wrap="nowrap" onMouseEnter={() => props.onHover(id)} data-testid="pinned-row">
              <Checkbox
                size="xs"
                aria-label={`select ${id}`}
                checked={checked.includes(id)}
                onChange={(e) => {
                  const on = e.currentTarget.checked;
                  setChecked((c) => (on ? [...c, id] : c.filter((x) => x !== id)));
                }}
              />
              <TextInput
                size="xs"
                style={{ flex: 1 }}
                aria-label={`label of ${id}`}
                placeholder={n?.label ?? id}
                value={state.labels[id] ?? ''}
                onChange={(e) => props.onLabel(id, e.currentTarget.value)}
              />
              <ActionIcon
                size="sm"
                variant="subtle"
                color="gray"
                aria-label={`unpin ${id}`}
                onClick={() => props.onUnpin(id)}
              >
                ×
              </ActionIcon>
            </Group>
          );
        })}
        {state.pinned.length >= 2 && (
          <Group gap={6} wrap="nowrap" align="flex-end">
            <TextInput
              size="xs"
              style={{ flex: 1 }}
              label="Supernode name"
              placeholder="e.g. say a capital"
              value={name}
              data-testid="supernode-name"
              onChange={(e) => setName(e.currentTarget.value)}
            />
            <Button size="xs" disabled={!canGroup} onClick={group} data-testid="make-supernode">
              Group {chosen.length}
            </Button>
          </Group>
        )}
        {state.supernodes.map((s) => (
          <Group key={s.name} gap={6} justify="space-between" wrap="nowrap" data-testid="supernode-row">
            <Text size="xs" style={{ overflowWrap: 'anywhere' }}>
              <b>{s.name}</b> · {s.members.map((m) => state.labels[m] ?? graph.byId.get(m)?.label ?? m).join(', ')}
            </Text>
            <ActionIcon
              size="sm"
              variant="subtle"
              color="gray"
              aria-label={`ungroup ${s.name}`}
              onClick={() => props.onRemoveSupernode(s.name)}
            >
              ×
            </ActionIcon>
          </Group>
        ))}
      </Stack>
    </Card>
  );
}
