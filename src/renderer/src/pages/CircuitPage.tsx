/**
 * One stored attribution graph: its prompt and origin above the graph view (see circuits/GraphView.tsx). A graph that
 * is still computed shows its progress (read again every second) with a Cancel button, and opens when it is done; a
 * failed or cancelled one shows why.
 */
import { Alert, Anchor, Badge, Button, Card, Group, Progress, Stack, Text, Title } from '@mantine/core';
import { useMemo, useState } from 'react';
import type { GraphJson } from '../../../protocol/circuits/graph-json';
import type { GraphRecord, GraphSummary } from '../../../protocol/graphs';
import { errorText, useLoad, useStudio } from '../client/studio';
import { fmtPct } from '../components/format';
import { toViewGraph } from '../circuits/graph-model';
import { GraphView } from '../circuits/GraphView';
import { LoadedView } from '../components/LoadedView';
import { Link } from '../router';
import { GRAPH_POLL_MS, ImportGraphButton, useEvery, useGraphImport } from './CircuitsPage';

/** A graph without its JSON yet: the job's progress, or why it ended without one. */
function Unfinished({ summary }: { summary: GraphSummary }) {
  const client = useStudio();
  const [cancelError, setCancelError] = useState<string | null>(null);
  const cancel = async () => {
    try {
      const { jobs } = await client.listJobs({});
      const job = jobs.find((j) => j.graph === summary.name && (j.status === 'running' || j.status === 'cancelling'));
      if (!job) throw new Error(`no job of this studio is computing '${summary.name}'`);
      await client.cancelJob({ jobId: job.jobId });
    } catch (err) {
      setCancelError(errorText(err));
    }
  };
  return (
    <Card withBorder data-testid="graph-progress">
      <Stack gap="xs">
        <Group justify="space-between">
          <Text fw={500} data-testid="graph-status">
            {summary.status === 'running' ? `Computing the graph: ${fmtPct(summary.progress, 0)}` : summary.status}
          </Text>
          {summary.status === 'running' && (
            <Button size="xs" variant="default" onClick={() => void cancel()} data-testid="cancel-graph">
              Cancel
            </Button>
          )}
        </Group>
        {summary.status === 'running' && <Progress value={summary.progress * 100} animated />}
        {summary.error && (
          <Alert color="red" title={`The graph ${summary.status}`} role="alert" data-testid="graph-error">
            {summary.error}
          </Alert>
        )}
        {summary.status === 'cancelled' && !summary.error && (
          <Text size="sm" c="dimmed">
            The computation was cancelled; nothing was stored.
          </Text>
        )}
        {cancelError && (
          <Text size="sm" c="red">
            {cancelError}
          </Text>
        )}
      </Stack>
    </Card>
  );
}

function TheGraph({ record, graph: json }: { record: GraphRecord; graph: GraphJson }) {
  const graph = useMemo(() => toViewGraph(json), [json]);
  return <GraphView key={record.summary.name} graph={graph} dictionaries={record.dictionaries} />;
}

function Loaded({ record }: { record: GraphRecord }) {
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
      {record.graph ? <TheGraph record={record} graph={record.graph} /> : <Unfinished summary={record.summary} />}
    </Stack>
  );
}

export function CircuitPage({ name }: { name: string }) {
  const state = useLoad((c) => c.getGraph({ name }), [name]);
  useEvery(state.reload, GRAPH_POLL_MS, state.data?.summary.status === 'running');
  return (
    <LoadedView state={state} what="the graph">
      {(record) => <Loaded record={record} />}
    </LoadedView>
  );
}
