/** The feature's activation histogram: bars over the bin edges the analysis stored. */
import { Bar, BarChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { fmtInt, fmtNum } from './format';

export function Histogram({
  edges,
  counts,
  height = 160,
}: {
  edges: readonly number[];
  counts: readonly number[];
  height?: number;
}) {
  // Bin i spans edges[i]..edges[i + 1]; a bin without both edges (a malformed analysis) is not drawn.
  const data = counts.flatMap((count, i) => {
    const from = edges[i];
    const to = edges[i + 1];
    return from === undefined || to === undefined ? [] : [{ x: (from + to) / 2, from, to, count }];
  });
  return (
    <ResponsiveContainer width="100%" height={height}>
      <BarChart data={data} margin={{ top: 6, right: 8, bottom: 0, left: 0 }} barCategoryGap={1}>
        <XAxis
          dataKey="x"
          tickFormatter={(v: number) => fmtNum(v, 2)}
          tick={{ fontSize: 11, fill: 'var(--mantine-color-dimmed)' }}
        />
        <YAxis
          width={48}
          tick={{ fontSize: 11, fill: 'var(--mantine-color-dimmed)' }}
          tickFormatter={(v: number) => fmtInt(v)}
        />
        <Tooltip
          formatter={(v) => fmtInt(Number(v))}
          labelFormatter={(_, p) => {
            const d = p?.[0]?.payload as { from: number; to: number } | undefined;
            return d ? `${fmtNum(d.from, 3)} – ${fmtNum(d.to, 3)}` : '';
          }}
          contentStyle={{
            background: 'var(--mantine-color-body)',
            border: '1px solid var(--mantine-color-default-border)',
            fontSize: 12,
          }}
        />
        <Bar dataKey="count" name="tokens" fill="var(--mantine-color-orange-6)" isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  );
}
