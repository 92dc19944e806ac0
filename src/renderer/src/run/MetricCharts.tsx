// The run's live charts: loss parts, explained variance, L0, dead and dense latents, learning rate, throughput.
import { Card, SimpleGrid, Text } from '@mantine/core';
import { useMemo } from 'react';
import type { MetricPoint } from '../../../protocol/runs';
import { fmtNum } from '../components/format';
import { MetricChart, type ChartPoint } from '../components/MetricChart';

interface ChartSpec {
  title: string;
  metrics: { key: string; label: string; color: string }[];
  tight?: boolean;
}

const CHARTS: ChartSpec[] = [
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
  {
    title: 'Explained variance',
    metrics: [{ key: 'explained_variance', label: 'explained variance', color: 'var(--mantine-color-green-6)' }],
  },
  {
    title: 'L0 (active latents per token)',
    metrics: [{ key: 'l0', label: 'L0', color: 'var(--mantine-color-blue-6)' }],
  },
  {
    title: 'Dead and dense latents',
    metrics: [
      { key: 'dead', label: 'dead', color: 'var(--mantine-color-red-6)' },
      { key: 'dense', label: 'dense (>10%)', color: 'var(--mantine-color-yellow-6)' },
    ],
  },
  { title: 'Learning rate', metrics: [{ key: 'lr', label: 'lr', color: 'var(--mantine-color-cyan-6)' }] },
  {
    title: 'Tokens per second',
    metrics: [{ key: 'tokens_per_second', label: 'tokens/s', color: 'var(--mantine-color-indigo-6)' }],
  },
];

/** A series worth drawing: some value is a number, and (loss parts that may be unused) some value is not zero. */
function hasValues(data: readonly ChartPoint[], key: string): boolean {
  return data.some((d) => typeof d[key] === 'number' && (d[key] !== 0 || key === 'dead' || key === 'dense'));
}

export function MetricCharts({ points }: { points: readonly MetricPoint[] }) {
  const data: ChartPoint[] = useMemo(() => points.map((p) => ({ step: p.step, ...p.values })), [points]);
  const last = points.at(-1);
  return (
    <SimpleGrid cols={{ base: 1, md: 2, xl: 3 }}>
      {CHARTS.map((c) => {
        const only = c.metrics.length === 1 ? c.metrics[0] : undefined;
        return (
          <Card withBorder key={c.title} data-testid="metric-chart">
            <Text size="sm" fw={500} mb={4}>
              {c.title}
              {last && only && (
                <Text span c="dimmed" size="xs">
                  {'  '}
                  {fmtNum(last.values[only.key] ?? null, 5)}
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
        );
      })}
    </SimpleGrid>
  );
}
