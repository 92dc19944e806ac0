/** Home: what is going on (recent runs, dictionaries) and where (the compute backend, the store). */
import { Anchor, Badge, Button, Card, Code, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import type { SystemInfo } from '../../../protocol/system';
import { useLoad } from '../client/studio';
import { fmtDate, fmtInt, fmtNum } from '../components/format';
import { StatusBadge } from '../components/RunStatus';
import { Empty, ErrorNote, Loading } from '../components/States';
import { Link, navigate } from '../router';

export function ComputeSummary({ info }: { info: SystemInfo }) {
  return (
    <Stack gap={6}>
      <Group gap="xs">
        <Text size="sm">Default backend:</Text>
        <Badge data-testid="auto-backend">{info.autoBackend}</Badge>
      </Group>
      <Text size="sm">
        GPU: {info.gpu ? `${info.gpu.adapter}${info.gpu.software ? ' (software)' : ''}` : 'none'}
        {info.gpuReason && (
          <Text span c="dimmed" size="xs">
            {' '}
            — {info.gpuReason}
          </Text>
        )}
      </Text>
      <Text size="sm">
        CPU: {info.cpus} × {info.cpuModel}, {info.memoryGb} GiB
      </Text>
      <Text size="sm">
        Native kernels (OpenBLAS, sparse TopK): {info.native.loaded ? 'loaded' : 'not loaded'}
        {!info.native.loaded && (
          <Text span c="dimmed" size="xs">
            {' '}
            — {info.native.detail}
          </Text>
        )}
      </Text>
    </Stack>
  );
}

export function HomePage() {
  const system = useLoad((c) => c.systemInfo({}), []);
  const runs = useLoad((c) => c.listRuns({ limit: 8 }), []);
  const dicts = useLoad((c) => c.listDictionaries({}), []);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Home</Title>
        <Button onClick={() => navigate('/new')}>New experiment</Button>
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Title order={4} mb="xs">
            Compute
          </Title>
          {system.error ? <ErrorNote error={system.error} onRetry={system.reload} /> : system.data ? <ComputeSummary info={system.data} /> : <Loading what="the machine" />}
        </Card>
        <Card withBorder>
          <Title order={4} mb="xs">
            Store
          </Title>
          {system.data && (
            <Stack gap={6}>
              <Text size="sm">Studio home (dictionaries, runs, token caches):</Text>
              <Code data-testid="home-dir">{system.data.home}</Code>
              <Text size="sm">Local store (SQLite):</Text>
              <Code>{system.data.store}</Code>
            </Stack>
          )}
        </Card>
      </SimpleGrid>
      <Card withBorder>
        <Group justify="space-between" mb="xs">
          <Title order={4}>Recent runs</Title>
          <Anchor component={Link} to="/runs" size="sm">
            All runs
          </Anchor>
        </Group>
        {runs.error ? (
          <ErrorNote error={runs.error} onRetry={runs.reload} />
        ) : !runs.data ? (
          <Loading what="runs" />
        ) : runs.data.runs.length === 0 ? (
          <Empty>No runs yet: start one with New experiment.</Empty>
        ) : (
          <Table.ScrollContainer minWidth={560}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Run</Table.Th>
                  <Table.Th>Dictionary</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Started</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {runs.data.runs.map((r) => (
                  <Table.Tr key={r.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/runs/${encodeURIComponent(r.id)}`}>
                        {r.id}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{r.dictionaryName}</Table.Td>
                    <Table.Td>
                      <StatusBadge status={r.active ? 'running' : r.status} />
                    </Table.Td>
                    <Table.Td>{fmtDate(r.startedAt)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
      <Card withBorder>
        <Group justify="space-between" mb="xs">
          <Title order={4}>Dictionaries</Title>
          <Anchor component={Link} to="/dictionaries" size="sm">
            All dictionaries
          </Anchor>
        </Group>
        {dicts.error ? (
          <ErrorNote error={dicts.error} onRetry={dicts.reload} />
        ) : !dicts.data ? (
          <Loading what="dictionaries" />
        ) : dicts.data.dictionaries.length === 0 ? (
          <Empty>No dictionaries yet.</Empty>
        ) : (
          <Table.ScrollContainer minWidth={560}>
            <Table>
              <Table.Tbody>
                {dicts.data.dictionaries.slice(0, 8).map((d) => (
                  <Table.Tr key={d.name}>
                    <Table.Td>
                      <Anchor component={Link} to={`/dictionaries/${encodeURIComponent(d.name)}`}>
                        {d.name}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>{d.hookPointIn}</Table.Td>
                    <Table.Td className="num">{fmtInt(d.dSae)} latents</Table.Td>
                    <Table.Td className="num">EV {fmtNum(d.metrics?.explained_variance ?? null)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </Card>
    </Stack>
  );
}
