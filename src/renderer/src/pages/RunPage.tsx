/**
 * A run's dashboard: live charts of the loss parts, L0, explained variance, dead latents, learning rate and
 * throughput, progress with an ETA, pause (a checkpoint, then stop) and resume, the run's log, and — once trained —
 * the evaluation table and the way to its dictionary and features.
 */
import { Button, Group, Stack } from '@mantine/core';
import { EvaluationTable } from '../components/EvaluationTable';
import { ErrorNote, Loading } from '../components/States';
import { Link } from '../router';
import { MetricCharts } from '../run/MetricCharts';
import { RunHeader } from '../run/RunHeader';
import { RunLog } from '../run/RunLog';
import { RunProgressCard } from '../run/RunProgressCard';
import { useRun } from '../run/use-run';

/** Another run id is another dashboard: its state starts afresh. */
export function RunPage({ id }: { id: string }) {
  return <RunDashboard key={id} id={id} />;
}

function RunDashboard({ id }: { id: string }) {
  const { run, points, log, progress, dictionary, error, refresh } = useRun(id);
  if (error && !run) return <ErrorNote error={error} onRetry={() => void refresh()} />;
  if (!run) return <Loading what={`run ${id}`} />;
  return (
    <Stack>
      <RunHeader run={run} onChanged={refresh} />
      <RunProgressCard run={run} points={points} progress={progress} />
      {dictionary?.metrics && <EvaluationTable dictionary={dictionary} />}
      {run.status === 'done' && dictionary && (
        <Group>
          <Button
            component={Link}
            to={`/dictionaries/${encodeURIComponent(dictionary.name)}`}
            data-testid="open-dictionary"
          >
            Open dictionary {dictionary.name}
          </Button>
        </Group>
      )}
      <MetricCharts points={points} />
      <RunLog lines={log} />
    </Stack>
  );
}
