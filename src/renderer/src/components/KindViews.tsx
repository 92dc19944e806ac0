/**
 * What a feature page shows beyond an SAE's, by dictionary kind: a CLT feature's decoder norm per target layer (bar
 * chart), a crosscoder feature's decoder norm per head and the heads' decoder similarity (heatmap), a Lorsa feature's
 * QK head and, per sample, its z-pattern (which earlier tokens it reads), a MoLT transform's rank.
 */
import { Badge, Card, Group, SimpleGrid, Table, Text } from '@mantine/core';
import { Bar, BarChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { FeatureKindData, SampleKindData } from '../../../protocol/features';
import { fmtNum, tokenLabel } from './format';

export const KIND_LABELS: Record<string, string> = {
  sae: 'SAE',
  crosscoder: 'Crosscoder',
  clt: 'Cross-layer transcoder',
  lorsa: 'Lorsa',
  molt: 'MoLT',
};

export function kindLabel(saeType: string): string {
  return KIND_LABELS[saeType] ?? saeType;
}

/** The dictionary's kind as a badge. */
export function KindBadge({ kind, testId }: { kind: string; testId?: string }) {
  return (
    <Badge variant="light" color={kind === 'sae' ? 'gray' : 'grape'} data-testid={testId}>
      {kindLabel(kind)}
    </Badge>
  );
}

/** A short hook name for axis labels: `blocks.2.hook_mlp_out` → `L2 mlp_out`. */
export function shortHook(hook: string): string {
  const m = /^blocks\.(\d+)\.(?:hook_)?(.*)$/.exec(hook);
  return m ? `L${m[1]} ${m[2]!.replace(/^hook_/, '').replace('.hook_', ' ')}` : hook;
}

/** The feature's own view for its kind (null when the kind has none). */
export function FeatureKindView({ data }: { data: FeatureKindData }) {
  switch (data.kind) {
    case 'clt':
      return <CltView data={data} />;
    case 'crosscoder':
      return <CrosscoderView data={data} />;
    case 'lorsa':
      return (
        <Card withBorder data-testid="lorsa-head">
          <Text size="sm" fw={500}>
            Lorsa OV head on QK head {data.qkHead}
          </Text>
          <Text size="sm" c="dimmed">
            Its samples below show, under each text, which earlier tokens it reads at its strongest position (its
            z-pattern: each key&apos;s attention weight times its value).
          </Text>
        </Card>
      );
    case 'molt':
      return (
        <Card withBorder data-testid="molt-rank">
          <Text size="sm" fw={500}>
            Linear transform of rank <span className="num">{data.rank}</span>
          </Text>
          <Text size="sm" c="dimmed">
            When this feature fires, the MoLT adds its activation times a rank-{data.rank} transform U·V of the input.
          </Text>
        </Card>
      );
  }
}

function CltView({ data }: { data: Extract<FeatureKindData, { kind: 'clt' }> }) {
  const rows = data.decoderNorms.map((norm, t) => ({ target: `L${t}`, hook: data.targetHooks[t] ?? '', norm }));
  return (
    <Card withBorder data-testid="clt-decoder-norms">
      <Text size="sm" fw={500} mb={4}>
        Decoder norm per target layer (source layer {data.layer}, latent {data.layerIndex})
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <ResponsiveContainer width="100%" height={180}>
          <BarChart data={rows} margin={{ top: 6, right: 8, bottom: 0, left: 0 }}>
            <XAxis dataKey="target" tick={{ fontSize: 11, fill: 'var(--mantine-color-dimmed)' }} />
            <YAxis
              width={48}
              tick={{ fontSize: 11, fill: 'var(--mantine-color-dimmed)' }}
              tickFormatter={(v: number) => fmtNum(v, 2)}
            />
            <Tooltip
              formatter={(v) => fmtNum(Number(v), 4)}
              labelFormatter={(_, p) => (p?.[0]?.payload as { hook?: string } | undefined)?.hook ?? ''}
              contentStyle={{
                background: 'var(--mantine-color-body)',
                border: '1px solid var(--mantine-color-default-border)',
                fontSize: 12,
              }}
            />
            <Bar dataKey="norm" name="‖W_D‖" fill="var(--mantine-color-grape-6)" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
        <Table>
          <Table.Tbody>
            {rows.map((r, t) => (
              <Table.Tr key={r.target} data-testid="clt-norm-row">
                <Table.Td>
                  <Text size="xs">{r.hook}</Text>
                </Table.Td>
                <Table.Td ta="right" className="num">
                  {t < data.layer ? '—' : fmtNum(r.norm, 4)}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </SimpleGrid>
    </Card>
  );
}

/** Background of a similarity cell: orange for positive, blue for negative cosine, by its size. */
function cellColour(v: number | null): string | undefined {
  if (v === null) return undefined;
  const a = Math.min(1, Math.abs(v)).toFixed(3);
  return v >= 0 ? `rgba(255, 122, 0, ${a})` : `rgba(34, 139, 230, ${a})`;
}

function CrosscoderView({ data }: { data: Extract<FeatureKindData, { kind: 'crosscoder' }> }) {
  const H = data.heads.length;
  const maxNorm = Math.max(0, ...data.decoderNorms);
  return (
    <SimpleGrid cols={{ base: 1, md: 2 }}>
      <Card withBorder data-testid="crosscoder-heads">
        <Text size="sm" fw={500} mb={4}>
          Decoder norm per head
        </Text>
        <Table>
          <Table.Tbody>
            {data.heads.map((h, i) => (
              <Table.Tr key={h}>
                <Table.Td>
                  <Text size="xs">{h}</Text>
                </Table.Td>
                <Table.Td w="40%">
                  <div
                    className="norm-bar"
                    style={{ width: `${maxNorm > 0 ? (100 * data.decoderNorms[i]!) / maxNorm : 0}%` }}
                  />
                </Table.Td>
                <Table.Td ta="right" className="num" data-testid="head-norm">
                  {fmtNum(data.decoderNorms[i], 4)}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>
      <Card withBorder data-testid="crosscoder-similarity">
        <Text size="sm" fw={500} mb={4}>
          Decoder similarity between heads (cosine)
        </Text>
        <div className="heatmap" style={{ gridTemplateColumns: `auto repeat(${H}, minmax(3.2em, 1fr))` }}>
          <span />
          {data.heads.map((h) => (
            <span key={h} className="heatmap-label" title={h}>
              {shortHook(h)}
            </span>
          ))}
          {data.similarity.map((row, g) => [
            <span key={`l${g}`} className="heatmap-label" title={data.heads[g]}>
              {shortHook(data.heads[g] ?? '')}
            </span>,
            ...row.map((v, h) => (
              <span
                key={`${g}-${h}`}
                className="heatmap-cell num"
                data-testid="similarity-cell"
                style={{ backgroundColor: cellColour(v) }}
                title={`${data.heads[g]} · ${data.heads[h]}`}
              >
                {v === null ? '—' : v.toFixed(2)}
              </span>
            )),
          ])}
        </div>
      </Card>
    </SimpleGrid>
  );
}

/** Under a sample: a Lorsa z-pattern over the tokens up to its query, or a crosscoder's activation per head. */
export function SampleKindView({
  data,
  tokens,
  heads,
}: {
  data: SampleKindData;
  tokens: readonly string[];
  heads: readonly string[];
}) {
  if (data.zPattern)
    return <ZPattern query={data.zPattern.query} values={data.zPattern.contributions} tokens={tokens} />;
  if (data.headActivations)
    return (
      <Group gap={6} data-testid="head-activations">
        <Text size="xs" c="dimmed">
          per head at position {data.headActivations.position}:
        </Text>
        {data.headActivations.values.map((v, h) => (
          <Badge key={h} size="xs" variant="outline" className="num" title={heads[h]}>
            {heads[h] ? shortHook(heads[h]) : `head ${h}`} {fmtNum(v, 3)}
          </Badge>
        ))}
      </Group>
    );
  return null;
}

/** A z-pattern token's background: blue for a positive contribution, red for a negative one (activations are orange). */
function readColour(v: number, alpha: number): string {
  return v >= 0 ? `rgba(34, 139, 230, ${alpha.toFixed(3)})` : `rgba(250, 82, 82, ${alpha.toFixed(3)})`;
}

/** The tokens up to the query, each shaded by its contribution (blue positive, red negative); the query outlined. */
function ZPattern({ query, values, tokens }: { query: number; values: readonly number[]; tokens: readonly string[] }) {
  const top = Math.max(0, ...values.map(Math.abs));
  const from = Math.max(0, query - 24);
  const strongest = values.reduce((best, v, k) => (Math.abs(v) > Math.abs(values[best] ?? 0) ? k : best), 0);
  return (
    <div className="token-text" data-testid="z-pattern">
      <Text size="xs" c="dimmed">
        z-pattern at position {query}: reads most from position {strongest} ({JSON.stringify(tokens[strongest] ?? '')},{' '}
        {fmtNum(values[strongest], 3)})
      </Text>
      <div className="token-line">
        {tokens.slice(from, query + 1).map((t, j) => {
          const k = from + j;
          const v = values[k] ?? 0;
          const a = top > 0 ? Math.abs(v) / top : 0;
          return (
            <span
              key={k}
              className={`token${k === query ? ' token-focus' : ''}${a > 0.05 ? ' token-on' : ''}`}
              data-value={v}
              title={`${JSON.stringify(t)} (position ${k}) · contribution ${v.toFixed(4)}`}
              style={a > 0.05 ? { backgroundColor: readColour(v, a) } : undefined}
            >
              {tokenLabel(t)}
            </span>
          );
        })}
      </div>
    </div>
  );
}
