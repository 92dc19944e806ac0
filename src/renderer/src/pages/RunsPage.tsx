/** Every training run the store knows, newest first, with its status and where it stopped. */
import { Anchor, Button, Card, Group, SegmentedControl, Stack, Table, Title } from '@mantine/core';
import { useState } from 'react';
import { useLoad, useStudioEvents } from '../client/studio';
import { fmtDate, fmtInt } from '../components/format';
import { StatusBadge } from '../components/RunStatus';
import { Empty, ErrorNote, Loading } from '../components/States';
import { Link, navigate } from '../router';

export function RunsPage() {
  const [status, setStatus] = useState<'all' | 'running' | 'done' | 'failed' | 'cancelled'>('all');
  const runs = useLoad((c) => c.listRuns({ limit: 200, ...(status === 'all' ? {} : { status }) }), [status]);
  useStudioEvents((e) => e.message.type === 'ended' && runs.reload());
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Runs</Title>
        <Button onClick={() => navigate('/new')}>New experiment</Button>
      </Group>
      <SegmentedControl value={status} onChange={(v) => setStatus(v as typeof status)} data={['all', 'running', 'done', 'failed', 'cancelled']} w="fit-content" />
      <Card withBorder>
        {runs.error ? (
          <ErrorNote error={runs.error} onRetry={runs.reload} />
        ) : !runs.data ? (
          <Loading what="runs" />
        ) : runs.data.runs.length === 0 ? (
          <Empty>No runs{status === 'all' ? '' : ` with status ${status}`}.</Empty>
        ) : (
          <Table.ScrollContainer minWidth={720}>
            <Table highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Run</Table.Th>
                  <Table.Th>Dictionary</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th ta="right">Last step</Table.Th>
                  <Table.Th>Started</Table.Th>
                  <Table.Th>Finished</Table.Th>
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
                    <Table.Td ta="right" className="num">
                      {fmtInt(r.lastStep)}
                    </Table.Td>
                    <Table.Td>{fmtDate(r.startedAt)}</Table.Td>
                    <Table.Td>{fmtDate(r.finishedAt)}</Table.Td>
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
