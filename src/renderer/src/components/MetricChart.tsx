/** One training metric over steps (Recharts), sized to its card; gaps where a value was not finite. */
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { fmtNum } from './format';

export interface ChartPoint {
  step: number;
  [metric: string]: number | null;
}

/** `tight`: the y axis spans the data (a loss); otherwise it starts at 0. */
export function MetricChart({
  data,
  metrics,
  height = 180,
  tight = false,
}: {
  data: ChartPoint[];
  metrics: { key: string; label: string; color: string }[];
  height?: number;
  tight?: boolean;
}) {
  return (
    <ResponsiveContainer width="100%" height={height}>
      <LineChart data={data} margin={{ top: 6, right: 12, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="var(--mantine-color-default-border)" />
        <XAxis
          dataKey="step"
          type="number"
          domain={['dataMin', 'dataMax']}
          tick={{ fontSize: 11, fill: 'var(--mantine-color-dimmed)' }}
          allowDecimals={false}
        />
        <YAxis
          width={56}
          domain={tight ? ['auto', 'auto'] : [0, 'auto']}
          tick={{ fontSize: 11, fill: 'var(--mantine-color-dimmed)' }}
          tickFormatter={(v: number) => fmtNum(v, 3)}
        />
        <Tooltip
          formatter={(v) => (typeof v === 'number' ? fmtNum(v, 5) : String(v))}
          labelFormatter={(s) => `step ${String(s)}`}
          contentStyle={{
            background: 'var(--mantine-color-body)',
            border: '1px solid var(--mantine-color-default-border)',
            fontSize: 12,
          }}
        />
        {metrics.map((m) => (
          <Line
            key={m.key}
            type="linear"
            dataKey={m.key}
            name={m.label}
            stroke={m.color}
            dot={false}
            isAnimationActive={false}
            connectNulls={false}
            strokeWidth={1.6}
          />
        ))}
      </LineChart>
    </ResponsiveContainer>
  );
}
