// The run's progress: the step reached of all steps, tokens, throughput and an ETA, and the phase after training.
import { Card, Group, Progress, Text } from '@mantine/core';
import type { MetricPoint, RunSummary } from '../../../protocol/runs';
import { fmtDuration, fmtInt } from '../components/format';
import type { JobProgress } from './use-run';

export function RunProgressCard({
  run,
  points,
  progress,
}: {
  run: RunSummary;
  points: readonly MetricPoint[];
  progress: JobProgress | null;
}) {
  const { total_training_tokens: tokens, batch_size: batch } = run.config;
  const totalSteps = tokens && batch ? Math.floor(tokens / batch) : null;
  const last = points.at(-1);
  const step = Math.max(last?.step ?? 0, progress?.phase === 'training' ? progress.done : 0);
  const tps = last?.values.tokens_per_second ?? null;
  const eta =
    run.active && totalSteps && tps && batch && step < totalSteps ? ((totalSteps - step) * batch) / tps : null;
  const pct = totalSteps ? Math.min(100, (100 * step) / totalSteps) : 0;
  return (
    <Card withBorder>
      <Group justify="space-between" mb={6}>
        <Text size="sm" data-testid="run-progress">
          step {fmtInt(step)} of {fmtInt(totalSteps)} · {fmtInt(last?.tokens ?? 0)} tokens
        </Text>
        <Text size="sm" c="dimmed">
          {tps ? `${fmtInt(tps)} tokens/s` : ''}
          {eta !== null ? ` · about ${fmtDuration(eta)} left` : ''}
        </Text>
      </Group>
      <Progress value={run.status === 'done' ? 100 : pct} animated={run.active} />
      {progress && progress.phase !== 'training' && (
        <Text size="xs" c="dimmed" mt={6} data-testid="phase">
          {progress.phase}: {fmtInt(progress.done)}
          {progress.total !== null ? ` of ${fmtInt(progress.total)}` : ''} {progress.unit}
        </Text>
      )}
    </Card>
  );
}
