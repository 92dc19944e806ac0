// The run's title line: what it trains, its status, and pause (a checkpoint, then stop), resume or cancel.
import { Alert, Button, Group, Text, Title } from '@mantine/core';
import { useState } from 'react';
import type { RunSummary } from '../../../protocol/runs';
import { errorText, useStudio } from '../client/studio';
import { fmtInt } from '../components/format';
import { StatusBadge } from '../components/RunStatus';

export function RunHeader({ run, onChanged }: { run: RunSummary; onChanged: () => Promise<void> }) {
  const client = useStudio();
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const act = async (what: 'pause' | 'resume') => {
    setBusy(true);
    setActionError(null);
    try {
      if (what === 'pause') await client.cancelRun({ id: run.id });
      else await client.resumeRun({ id: run.id });
      await onChanged();
    } catch (err) {
      setActionError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const sae = run.config.sae;
  const status = run.active && run.status === 'done' ? 'analysing' : run.active ? 'running' : run.status;
  return (
    <>
      <Group justify="space-between" align="flex-start">
        <div>
          <Title order={2}>Run {run.id}</Title>
          <Text c="dimmed" size="sm">
            {sae?.act_fn} dictionary “{run.dictionaryName}” · {fmtInt(sae?.d_sae)} latents · {sae?.hook_point_in}
          </Text>
        </div>
        <Group>
          <StatusBadge status={status} />
          {run.active && run.status !== 'done' && (
            <Button variant="default" onClick={() => void act('pause')} loading={busy} data-testid="pause-run">
              Pause
            </Button>
          )}
          {run.active && run.status === 'done' && (
            <Button variant="default" onClick={() => void act('pause')} loading={busy}>
              Cancel analysis
            </Button>
          )}
          {run.resumable && (
            <Button onClick={() => void act('resume')} loading={busy} data-testid="resume-run">
              Resume
            </Button>
          )}
        </Group>
      </Group>
      {actionError && <Alert color="red">{actionError}</Alert>}
      {run.error && (
        <Alert color="red" title={run.resumable ? 'Stopped (resumable from its last checkpoint)' : 'Failed'}>
          {run.error}
        </Alert>
      )}
    </>
  );
}
