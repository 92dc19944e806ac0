/**
 * A run's dashboard: live charts of the loss parts, L0, explained variance, dead latents, learning rate and
 * throughput, progress with an ETA, pause (a checkpoint, then stop) and resume, the run's log, and — once trained —
 * the evaluation table and the way to its dictionary and features.
 */
import { Alert, Button, Card, Group, Progress, ScrollArea, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { DictionarySummary } from '../../../protocol/dictionaries';
import type { StudioEvent } from '../../../protocol/jobs';
import type { MetricPoint, RunSummary } from '../../../protocol/runs';
import { errorText, useStudio, useStudioEvents } from '../client/studio';
import { fmtDuration, fmtInt, fmtNum, fmtPct } from '../components/format';
import { MetricChart, type ChartPoint } from '../components/MetricChart';
import { StatusBadge } from '../components/RunStatus';
import { ErrorNote, Loading } from '../components/States';
import { Link } from '../router';

interface Progress {
  phase: string;
  done: number;
  total: number | null;
  unit: string;
}

const CHARTS: { title: string; metrics: { key: string; label: string; color: string }[]; tight?: boolean }[] = [
  {
    title: 'Loss',
    tight: true,
    metrics: [
      { key: 'loss', label: 'total', color: 'var(--mantine-color-orange-6)' },
      { key: 'l_rec', label: 'reconstruction', color: 'var(--mantine-color-blue-6)' },
      { key: 'l_s', label: 'sparsity', color: 'var(--mantine-color-grape-6)' },
      { key: 'l_aux', label: 'aux', color: 'var(--mantine-color-teal-6)' },
    ],
  },
  { title: 'Explained variance', metrics: [{ key: 'explained_variance', label: 'explained variance', color: 'var(--mantine-color-green-6)' }] },
  { title: 'L0 (active latents per token)', metrics: [{ key: 'l0', label: 'L0', color: 'var(--mantine-color-blue-6)' }] },
  {
    title: 'Dead and dense latents',
    metrics: [
      { key: 'dead', label: 'dead', color: 'var(--mantine-color-red-6)' },
      { key: 'dense', label: 'dense (>10%)', color: 'var(--mantine-color-yellow-6)' },
    ],
  },
  { title: 'Learning rate', metrics: [{ key: 'lr', label: 'lr', color: 'var(--mantine-color-cyan-6)' }] },
  { title: 'Tokens per second', metrics: [{ key: 'tokens_per_second', label: 'tokens/s', color: 'var(--mantine-color-indigo-6)' }] },
];

/** Where a partially drawn chart ends: the points are step-ordered, new ones appended. */
function addPoints(old: MetricPoint[], fresh: readonly MetricPoint[]): MetricPoint[] {
  const last = old.at(-1)?.step ?? -1;
  const newer = fresh.filter((p) => p.step > last);
  return newer.length === 0 ? old : [...old, ...newer];
}

export function RunPage({ id }: { id: string }) {
  const client = useStudio();
  const [run, setRun] = useState<RunSummary | null>(null);
  const [points, setPoints] = useState<MetricPoint[]>([]);
  const [log, setLog] = useState<string[]>([]);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [dictionary, setDictionary] = useState<DictionarySummary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const logBox = useRef<HTMLDivElement>(null);

  const refresh = async () => {
    try {
      const r = await client.getRun({ id });
      setRun(r.run);
      setPoints((old) => (old.length === 0 ? r.metrics : addPoints(old, r.metrics)));
      setLog(r.log);
      setError(null);
      if (r.run.status === 'done') {
        const d = await client.listDictionaries({});
        setDictionary(d.dictionaries.find((x) => x.name === r.run.dictionaryName) ?? null);
      }
    } catch (err) {
      setError(errorText(err));
    }
  };

  useEffect(() => {
    setPoints([]);
    setProgress(null);
    setDictionary(null);
    void refresh();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);

  useStudioEvents((e: StudioEvent) => {
    if (e.runId !== id) return;
    const m = e.message;
    switch (m.type) {
      case 'metrics':
        setPoints((old) => addPoints(old, [{ step: m.step, tokens: m.tokens, values: m.values }]));
        break;
      case 'progress':
        setProgress({ phase: e.kind === 'analyze' ? `feature analysis: ${m.phase}` : m.phase, done: m.done, total: m.total, unit: m.unit });
        break;
      case 'log':
        setLog((l) => [...l.slice(-499), `${new Date().toISOString()} ${m.message}`]);
        break;
      case 'ended':
        setProgress(null);
        void refresh();
        break;
      default:
        break;
    }
  });

  // Keeps the log scrolled to its newest line (inside its own box: the page itself does not move).
  useEffect(() => {
    const box = logBox.current;
    if (box) box.scrollTop = box.scrollHeight;
  }, [log.length]);

  const data: ChartPoint[] = useMemo(() => points.map((p) => ({ step: p.step, ...p.values })), [points]);

  if (error && !run) return <ErrorNote error={error} onRetry={() => void refresh()} />;
  if (!run) return <Loading what={`run ${id}`} />;

  const cfg = run.config as { total_training_tokens?: number; batch_size?: number; sae?: { hook_point_in?: string; act_fn?: string; d_sae?: number } };
  const totalSteps = cfg.total_training_tokens && cfg.batch_size ? Math.floor(cfg.total_training_tokens / cfg.batch_size) : null;
  const last = points.at(-1);
  const step = Math.max(last?.step ?? 0, progress?.phase === 'training' ? progress.done : 0);
  const tps = last?.values.tokens_per_second ?? null;
  const eta = run.active && totalSteps && tps && cfg.batch_size && step < totalSteps ? ((totalSteps - step) * cfg.batch_size) / tps : null;
  const pct = totalSteps ? Math.min(100, (100 * step) / totalSteps) : 0;

  const act = async (what: 'pause' | 'resume') => {
    setBusy(true);
    setActionError(null);
    try {
      if (what === 'pause') await client.cancelRun({ id });
      else await client.resumeRun({ id });
      await refresh();
    } catch (err) {
      setActionError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const status = run.active && run.status === 'done' ? 'analysing' : run.active ? 'running' : run.status;
  return (
    <Stack>
      <Group justify="space-between" align="flex-start">
        <div>
          <Title order={2}>Run {run.id}</Title>
          <Text c="dimmed" size="sm">
            {cfg.sae?.act_fn} dictionary “{run.dictionaryName}” · {fmtInt(cfg.sae?.d_sae)} latents · {cfg.sae?.hook_point_in}
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
      {dictionary?.metrics && <EvaluationTable dictionary={dictionary} />}
      {run.status === 'done' && dictionary && (
        <Group>
          <Button component={Link} to={`/dictionaries/${encodeURIComponent(dictionary.name)}`} data-testid="open-dictionary">
            Open dictionary {dictionary.name}
          </Button>
        </Group>
      )}
      <SimpleGrid cols={{ base: 1, md: 2, xl: 3 }}>
        {CHARTS.map((c) => (
          <Card withBorder key={c.title} data-testid="metric-chart">
            <Text size="sm" fw={500} mb={4}>
              {c.title}
              {last && c.metrics.length === 1 && (
                <Text span c="dimmed" size="xs">
                  {'  '}
                  {fmtNum(last.values[c.metrics[0]!.key] ?? null, 5)}
                </Text>
              )}
            </Text>
            {data.length === 0 ? (
              <Text c="dimmed" size="xs" py="xl" ta="center">
                waiting for the first metrics…
              </Text>
            ) : (
              <MetricChart data={data} metrics={c.metrics.filter((m) => hasValues(data, m.key))} tight={c.tight} />
            )}
          </Card>
        ))}
      </SimpleGrid>
      <Card withBorder>
        <Text size="sm" fw={500} mb={4}>
          Log
        </Text>
        <ScrollArea h={200} type="auto" viewportRef={logBox}>
          <pre className="run-log" data-testid="run-log">
            {log.join('\n')}
          </pre>
        </ScrollArea>
      </Card>
    </Stack>
  );
}

/** A series worth drawing: some value is a number, and (loss parts that may be unused) some value is not zero. */
function hasValues(data: readonly ChartPoint[], key: string): boolean {
  return data.some((d) => typeof d[key] === 'number' && (d[key] !== 0 || key === 'dead' || key === 'dense'));
}

export function EvaluationTable({ dictionary }: { dictionary: DictionarySummary }) {
  const m = dictionary.metrics ?? {};
  const rows: [string, string][] = [
    ['Explained variance', fmtNum(m.explained_variance ?? null)],
    ['L0', fmtNum(m.l0 ?? null, 2)],
    ['MSE', fmtNum(m.mse ?? null)],
    ['L2 ratio', fmtNum(m.l2_ratio ?? null)],
    ['Dead latents', fmtPct(m.dead_fraction ?? null)],
    ['CE original', fmtNum(m.ce_orig ?? null)],
    ['CE with dictionary', fmtNum(m.ce_with_dictionary ?? null)],
    ['CE zero-ablation', fmtNum(m.ce_zero_ablation ?? null)],
    ['CE loss recovered', fmtNum(m.ce_loss_recovered ?? null)],
    ['Evaluation tokens', fmtInt(m.tokens ?? null)],
  ];
  return (
    <Card withBorder data-testid="evaluation-table">
      <Text size="sm" fw={500} mb={4}>
        Evaluation
      </Text>
      <Table>
        <Table.Tbody>
          {rows.map(([k, v]) => (
            <Table.Tr key={k}>
              <Table.Td>{k}</Table.Td>
              <Table.Td className="num" ta="right">
                {v}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}
