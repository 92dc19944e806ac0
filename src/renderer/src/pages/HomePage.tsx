/** Home: what is going on (recent runs, dictionaries) and where (the compute backend, the store). */
import { Anchor, Badge, Button, Card, Code, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import type { SystemInfo } from '../../../protocol/system';
import { useLoad } from '../client/studio';
import { LoadedView } from '../components/LoadedView';
import { RunsTable } from '../components/RunsTable';
import { Link, navigate } from '../router';
import { DictionariesTable } from './DictionariesPage';

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
        Native kernels (sgemm, sparse TopK, LM): {info.native.loaded ? 'loaded' : 'not loaded'}
        <Text span c="dimmed" size="xs">
          {' '}
          — {info.native.detail}
        </Text>
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
          <LoadedView state={system} what="the machine">
            {(info) => <ComputeSummary info={info} />}
          </LoadedView>
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
        <LoadedView
          state={runs}
          what="runs"
          isEmpty={(d) => d.runs.length === 0}
          empty="No runs yet: start one with New experiment."
        >
          {(d) => <RunsTable runs={d.runs} />}
        </LoadedView>
      </Card>
      <Card withBorder>
        <Group justify="space-between" mb="xs">
          <Title order={4}>Dictionaries</Title>
          <Anchor component={Link} to="/dictionaries" size="sm">
            All dictionaries
          </Anchor>
        </Group>
        <LoadedView
          state={dicts}
          what="dictionaries"
          isEmpty={(d) => d.dictionaries.length === 0}
          empty="No dictionaries yet."
        >
          {(d) => <DictionariesTable dictionaries={d.dictionaries.slice(0, 8)} />}
        </LoadedView>
      </Card>
    </Stack>
  );
}
