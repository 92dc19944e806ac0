// The dictionary step's fields that only some kinds have: a Lorsa's QK heads, their width, its context and its
// rotary settings (prefilled from the model), and a MoLT's rank table (d_sae is the sum of its counts).
import { ActionIcon, Button, Group, NumberInput, Select, SimpleGrid, Stack, Switch, Table, Text } from '@mantine/core';
import { Help } from './Help';
import { lorsaRotaryOf, rankCountsSum, type LorsaRotaryForm, type RankCountRow } from './kind-fields';
import type { Wizard } from './use-wizard';
import { numberOrEmpty } from './wizard-model';

export function KindShape({ w }: { w: Wizard }) {
  if (w.form.saeType === 'lorsa') return <LorsaShape w={w} />;
  if (w.form.saeType === 'molt') return <RankTable w={w} />;
  return null;
}

function LorsaShape({ w }: { w: Wizard }) {
  const { form } = w;
  const rot: LorsaRotaryForm | null = form.lorsaRotary ?? (w.model ? lorsaRotaryOf(w.model) : null);
  const setRot = (patch: Partial<LorsaRotaryForm>) => rot && w.set('lorsaRotary', { ...rot, ...patch });
  const num = (field: 'nQkHeads' | 'dQkHead' | 'nCtx') => ({
    value: form[field] ?? '',
    onChange: (v: string | number) => w.set(field, numberOrEmpty(v)),
    error: w.shown[field],
    min: 1,
    allowDecimal: false,
  });
  const groups =
    typeof form.nQkHeads === 'number' && form.dSae !== '' && form.dSae % form.nQkHeads === 0
      ? `${form.dSae / form.nQkHeads} OV heads per QK head`
      : ' ';
  return (
    <Stack gap="sm">
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <NumberInput
          label={
            <Help label="QK heads: each computes one attention pattern shared by d_sae / n_qk_heads rank-1 OV heads (the latents).">
              QK heads
            </Help>
          }
          description={groups}
          {...num('nQkHeads')}
          data-testid="n-qk-heads"
        />
        <NumberInput label="QK head width (d_qk_head)" description=" " {...num('dQkHead')} data-testid="d-qk-head" />
        <NumberInput
          label={
            <Help label="Longest sequence the Lorsa attends over; at least the training windows' length.">
              Context (n_ctx)
            </Help>
          }
          description=" "
          {...num('nCtx')}
          data-testid="n-ctx"
        />
      </SimpleGrid>
      {rot && (
        <SimpleGrid cols={{ base: 1, sm: 4 }}>
          <Select
            label={
              <Help label="Must match the model: rotary for RoPE models, none for learned absolute positions (GPT-2).">
                Positions
              </Help>
            }
            data={[
              { value: 'rotary', label: 'rotary' },
              { value: 'none', label: 'none' },
            ]}
            value={rot.positional}
            onChange={(v) => (v === 'rotary' || v === 'none') && setRot({ positional: v })}
            allowDeselect={false}
            error={w.shown.lorsaRotary}
            data-testid="lorsa-positional"
          />
          <NumberInput
            label="rotary_dim"
            value={rot.rotaryDim}
            onChange={(v) => setRot({ rotaryDim: numberOrEmpty(v) })}
            disabled={rot.positional === 'none'}
            allowDecimal={false}
          />
          <NumberInput
            label="rotary_base"
            value={rot.rotaryBase}
            onChange={(v) => setRot({ rotaryBase: numberOrEmpty(v) })}
            disabled={rot.positional === 'none'}
          />
          <Switch
            mt="xl"
            label="adjacent pairs"
            checked={rot.adjacentPairs}
            onChange={(e) => setRot({ adjacentPairs: e.currentTarget.checked })}
            disabled={rot.positional === 'none'}
          />
        </SimpleGrid>
      )}
      {w.model && (
        <Text size="xs" c="dimmed">
          {w.model.rotary
            ? `${w.model.name} rotates ${w.model.rotary.dim} dimensions per head (base ${w.model.rotary.base}, half-split pairs).`
            : `${w.model.name} has learned absolute positions: a Lorsa of it takes no rotary embedding.`}
        </Text>
      )}
    </Stack>
  );
}

function RankTable({ w }: { w: Wizard }) {
  const rows = w.form.rankCounts;
  const setRow = (i: number, patch: Partial<RankCountRow>) =>
    w.set(
      'rankCounts',
      rows.map((r, j) => (j === i ? { ...r, ...patch } : r)),
    );
  const sum = rankCountsSum(rows);
  return (
    <Stack gap="xs" data-testid="rank-table">
      <Text size="sm" fw={500} component="div">
        <Help label="Each row: a rank and how many transforms U·V of that rank. The latents are the transforms, so d_sae = Σ counts.">
          Rank counts
        </Help>
      </Text>
      <Table withTableBorder>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>rank</Table.Th>
            <Table.Th>transforms</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((r, i) => (
            <Table.Tr key={i}>
              <Table.Td>
                <NumberInput
                  size="xs"
                  value={r.rank}
                  onChange={(v) => setRow(i, { rank: numberOrEmpty(v) })}
                  min={1}
                  allowDecimal={false}
                  aria-label={`rank of row ${i + 1}`}
                  data-testid={`rank-${i}`}
                />
              </Table.Td>
              <Table.Td>
                <NumberInput
                  size="xs"
                  value={r.count}
                  onChange={(v) => setRow(i, { count: numberOrEmpty(v) })}
                  min={1}
                  allowDecimal={false}
                  aria-label={`transforms of row ${i + 1}`}
                  data-testid={`rank-count-${i}`}
                />
              </Table.Td>
              <Table.Td>
                <ActionIcon
                  variant="subtle"
                  color="red"
                  aria-label={`remove row ${i + 1}`}
                  onClick={() =>
                    w.set(
                      'rankCounts',
                      rows.filter((_, j) => j !== i),
                    )
                  }
                >
                  ×
                </ActionIcon>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Group justify="space-between">
        <Button size="xs" variant="default" onClick={() => w.set('rankCounts', [...rows, { rank: '', count: '' }])}>
          Add a rank
        </Button>
        <Text size="sm" data-testid="molt-d-sae">
          d_sae = {sum ?? '—'}
          {sum !== null && w.model ? ` (expansion factor ${Number((sum / w.model.dModel).toFixed(2))})` : ''}
        </Text>
      </Group>
      {w.shown.rankCounts && (
        <Text size="xs" c="red" data-testid="rank-counts-error">
          {w.shown.rankCounts}
        </Text>
      )}
    </Stack>
  );
}
