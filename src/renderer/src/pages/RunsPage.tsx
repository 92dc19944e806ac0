/** Every training run the store knows, newest first, with its status and where it stopped. */
import { Button, Card, Group, SegmentedControl, Stack, Title } from '@mantine/core';
import { useState } from 'react';
import { RUN_STATUSES, type RunStatus } from '../../../protocol/runs';
import { useLoad, useStudioEvents } from '../client/studio';
import { LoadedView } from '../components/LoadedView';
import { RunsTable } from '../components/RunsTable';
import { navigate } from '../router';

export function RunsPage() {
  const [status, setStatus] = useState<RunStatus | 'all'>('all');
  const runs = useLoad((c) => c.listRuns({ limit: 200, ...(status === 'all' ? {} : { status }) }), [status]);
  useStudioEvents((e) => e.message.type === 'ended' && runs.reload());
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Runs</Title>
        <Button onClick={() => navigate('/new')}>New experiment</Button>
      </Group>
      <SegmentedControl
        value={status}
        onChange={(v) => setStatus(RUN_STATUSES.find((s) => s === v) ?? 'all')}
        data={['all', ...RUN_STATUSES]}
        w="fit-content"
      />
      <Card withBorder>
        <LoadedView
          state={runs}
          what="runs"
          isEmpty={(d) => d.runs.length === 0}
          empty={`No runs${status === 'all' ? '' : ` with status ${status}`}.`}
        >
          {(d) => <RunsTable runs={d.runs} />}
        </LoadedView>
      </Card>
    </Stack>
  );
}
