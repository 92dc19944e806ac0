/**
 * The stored attribution graphs, a new circuit computed from a prompt (the "New circuit" section: its graph is listed
 * with its progress while the job runs, and opens when it is done), and the import of a graph JSON made elsewhere
 * (circuit-tracer, Neuronpedia, an export of this app): chosen with a file picker or dropped on the page, checked
 * here, stored, then opened.
 */
import { Alert, Anchor, Button, Card, FileButton, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useState, type DragEvent } from 'react';
import type { GraphSummary } from '../../../protocol/graphs';
import { errorText, useLoad, useStudio, useStudioEvents } from '../client/studio';
import { NewCircuitSection } from '../circuits/NewCircuitSection';
import { readGraphFile } from '../circuits/read-graph-file';
import { fmtDate, fmtInt, fmtPct } from '../components/format';
import { LoadedView } from '../components/LoadedView';
import { Link, navigate } from '../router';

export function graphPath(name: string): string {
  return `/circuits/${encodeURIComponent(name)}`;
}

function GraphsTable({ graphs }: { graphs: readonly GraphSummary[] }) {
  return (
    <Table.ScrollContainer minWidth={700}>
      <Table highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Prompt</Table.Th>
            <Table.Th>Dictionary set</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th ta="right">Nodes</Table.Th>
            <Table.Th ta="right">Edges</Table.Th>
            <Table.Th>Origin</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {graphs.map((g) => (
            <Table.Tr key={g.name} data-testid="graph-row">
              <Table.Td>
                <Anchor component={Link} to={graphPath(g.name)}>
                  {g.prompt.length > 80 ? `${g.prompt.slice(0, 79)}…` : g.prompt || g.name}
                </Anchor>
                <Text size="xs" c="dimmed">
                  {g.name}
                </Text>
              </Table.Td>
              <Table.Td>{g.dictionarySet ?? '—'}</Table.Td>
              <Table.Td>
                {g.status === 'running' ? `running ${fmtPct(g.progress, 0)}` : g.status}
                {g.error && (
                  <Text size="xs" c="red">
                    {g.error}
                  </Text>
                )}
              </Table.Td>
              <Table.Td ta="right" className="num">
                {fmtInt(g.nodes)}
              </Table.Td>
              <Table.Td ta="right" className="num">
                {fmtInt(g.links)}
              </Table.Td>
              <Table.Td>{g.origin}</Table.Td>
              <Table.Td>{fmtDate(g.createdAt)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** Reads, checks and stores a graph file; resolves to the stored slug. */
export function useGraphImport() {
  const client = useStudio();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const importFile = async (file: File | null) => {
    if (!file) return;
    setBusy(true);
    try {
      const graph = await readGraphFile(file);
      const { summary } = await client.importGraph({ graph }).catch((err: unknown) => {
        throw new Error(`${file.name}: ${errorText(err)}`);
      });
      setError(null);
      navigate(graphPath(summary.name));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, importFile };
}

export function ImportGraphButton({ onFile, busy }: { onFile: (file: File | null) => void; busy: boolean }) {
  return (
    <FileButton onChange={onFile} accept="application/json,.json">
      {(props) => (
        <Button {...props} loading={busy} data-testid="import-graph">
          Import graph JSON
        </Button>
      )}
    </FileButton>
  );
}

/** How often the list is read again while a graph is computed. */
export const GRAPH_POLL_MS = 1000;

/** Calls `fn` every `ms` while `on`. */
export function useEvery(fn: () => void, ms: number, on: boolean): void {
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  }, [fn, ms, on]);
}

/**
 * The circuit started from this page: the list is read again while it runs, it opens when it is done, and a job that
 * ended before its graph was even recorded (a set whose files are gone) reports its error.
 */
function usePendingCircuit(graphs: readonly GraphSummary[] | undefined, reload: () => void) {
  const [pending, setPending] = useState<{ graph: string; jobId: string } | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const running = graphs?.some((g) => g.status === 'running') === true;
  useEvery(reload, GRAPH_POLL_MS, running || pending !== null);
  useStudioEvents((e) => {
    if (e.kind !== 'attribute') return;
    reload();
    if (pending && e.jobId === pending.jobId && e.message.type === 'ended' && e.message.status !== 'done') {
      if (!graphs?.some((g) => g.name === pending.graph)) setFailed(e.message.error ?? e.message.status);
      setPending(null);
    }
  });
  const row = pending ? graphs?.find((g) => g.name === pending.graph) : undefined;
  useEffect(() => {
    if (row?.status === 'done') navigate(graphPath(row.name));
  }, [row?.status, row?.name]);
  const start = (graph: string, jobId: string) => {
    setFailed(null);
    setPending({ graph, jobId });
  };
  return { pending, failed, start };
}

export function CircuitsPage() {
  const graphs = useLoad((c) => c.listGraphs({}), []);
  const [showNew, setShowNew] = useState(false);
  const { pending, failed, start } = usePendingCircuit(graphs.data?.graphs, graphs.reload);
  const { error, busy, importFile } = useGraphImport();
  const [over, setOver] = useState(false);
  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setOver(false);
    void importFile(e.dataTransfer.files[0] ?? null);
  };
  return (
    <Stack
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
      data-testid="circuits-page"
    >
      <Group justify="space-between">
        <Title order={2}>Circuits</Title>
        <Group gap="xs">
          <Button
            variant={showNew ? 'light' : 'filled'}
            onClick={() => setShowNew((v) => !v)}
            data-testid="new-circuit"
          >
            New circuit
          </Button>
          <ImportGraphButton onFile={(f) => void importFile(f)} busy={busy} />
        </Group>
      </Group>
      {showNew && <NewCircuitSection onStarted={start} />}
      {pending && !graphs.data?.graphs.some((g) => g.name === pending.graph) && (
        <Text size="sm" c="dimmed" data-testid="circuit-pending">
          Starting the attribution of {pending.graph}…
        </Text>
      )}
      {failed && (
        <Alert color="red" title="The circuit failed" role="alert" data-testid="circuit-failed">
          {failed}
        </Alert>
      )}
      <Text size="sm" c="dimmed">
        Attribution graphs of a prompt's next-token prediction. Compute one from a prompt with New circuit, import a
        graph JSON from circuit-tracer, Neuronpedia or an export of this app with the button, or drop the file on this
        page.
      </Text>
      {error && (
        <Alert color="red" title="Could not import the graph" role="alert" data-testid="import-error">
          {error}
        </Alert>
      )}
      <Card withBorder style={over ? { outline: '2px dashed var(--mantine-color-orange-6)' } : undefined}>
        <LoadedView
          state={graphs}
          what="graphs"
          isEmpty={(d) => d.graphs.length === 0}
          empty="No graphs yet: compute one with New circuit, or import a graph JSON."
        >
          {(d) => <GraphsTable graphs={d.graphs} />}
        </LoadedView>
      </Card>
    </Stack>
  );
}
