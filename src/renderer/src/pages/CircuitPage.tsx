/** One stored attribution graph: its prompt and origin above the graph view (see circuits/GraphView.tsx). */
import { Anchor, Badge, Group, Stack, Text, Title } from '@mantine/core';
import { useMemo } from 'react';
import type { GraphRecord } from '../../../protocol/graphs';
import { useLoad } from '../client/studio';
import { toViewGraph } from '../circuits/graph-model';
import { GraphView } from '../circuits/GraphView';
import { LoadedView } from '../components/LoadedView';
import { Link } from '../router';
import { ImportGraphButton, useGraphImport } from './CircuitsPage';

function Loaded({ record }: { record: GraphRecord }) {
  const graph = useMemo(() => toViewGraph(record.graph), [record]);
  const { error, busy, importFile } = useGraphImport();
  return (
    <Stack>
      <Group justify="space-between" align="flex-start">
        <div style={{ minWidth: 0, flex: 1 }}>
          <Text size="sm">
            <Anchor component={Link} to="/circuits">
              Circuits
            </Anchor>
          </Text>
          <Title order={2} data-testid="graph-title" style={{ overflowWrap: 'anywhere' }}>
            {record.summary.prompt || record.summary.name}
          </Title>
          <Group gap="xs" mt={4}>
            <Badge variant="light" color="gray" style={{ textTransform: 'none' }}>
              {record.summary.name}
            </Badge>
            {record.summary.dictionarySet && (
              <Badge variant="light" style={{ textTransform: 'none' }}>
                {record.summary.dictionarySet}
              </Badge>
            )}
            <Badge variant="light" color={record.summary.origin === 'computed' ? 'teal' : 'grape'}>
              {record.summary.origin}
            </Badge>
          </Group>
        </div>
        <ImportGraphButton onFile={(f) => void importFile(f)} busy={busy} />
      </Group>
      {error && (
        <Text c="red" size="sm" role="alert" data-testid="import-error">
          {error}
        </Text>
      )}
      <GraphView key={record.summary.name} graph={graph} dictionaries={record.dictionaries} />
    </Stack>
  );
}

export function CircuitPage({ name }: { name: string }) {
  const state = useLoad((c) => c.getGraph({ name }), [name]);
  return (
    <LoadedView state={state} what="the graph">
      {(record) => <Loaded record={record} />}
    </LoadedView>
  );
}
