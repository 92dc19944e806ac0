/**
 * The stored attribution graphs, and the import of a graph JSON made elsewhere (circuit-tracer, Neuronpedia, an
 * export of this app): chosen with a file picker or dropped on the page, checked here, stored, then opened.
 */
import { Alert, Anchor, Button, Card, FileButton, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useState, type DragEvent } from 'react';
import type { GraphSummary } from '../../../protocol/graphs';
import { errorText, useLoad, useStudio } from '../client/studio';
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

export function CircuitsPage() {
  const graphs = useLoad((c) => c.listGraphs({}), []);
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
        <ImportGraphButton onFile={(f) => void importFile(f)} busy={busy} />
      </Group>
      <Text size="sm" c="dimmed">
        Attribution graphs of a prompt's next-token prediction. Import a graph JSON from circuit-tracer, Neuronpedia or
        an export of this app with the button, or drop the file on this page.
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
          empty="No graphs yet: import a graph JSON."
        >
          {(d) => <GraphsTable graphs={d.graphs} />}
        </LoadedView>
      </Card>
    </Stack>
  );
}
