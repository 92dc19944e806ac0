// The wizard's dictionary step: the activation function, the number of latents, and k or the sparsity penalty; the
// shapes only some kinds have (Lorsa's heads and positions, MoLT's ranks) in KindShape.tsx.
import { NumberInput, SegmentedControl, Select, SimpleGrid, Stack, Text } from '@mantine/core';
import { KIND_ACT_FNS } from '../../../protocol/kind-configs/common';
import { SPARSITY_LOSS_TYPES } from '../../../protocol/run-config';
import { Help } from './Help';
import { KindShape } from './KindShape';
import type { Wizard } from './use-wizard';
import { ACT_FN_OPTIONS, actFnOptions, keepsTopK, numberOrEmpty, SPARSITY_OPTIONS } from './wizard-model';

export function DictionaryStep({ w }: { w: Wizard }) {
  const { form } = w;
  const ratio = w.model && form.dSae !== '' ? form.dSae / w.model.dModel : null;
  return (
    <Stack>
      <div>
        <Text size="sm" fw={500} mb={4}>
          Activation function
        </Text>
        <SegmentedControl
          value={form.actFn}
          onChange={(v) => w.set('actFn', KIND_ACT_FNS.find((a) => a === v) ?? form.actFn)}
          data={actFnOptions(form.saeType).map((o) => ({ value: o.value, label: o.label }))}
        />
        <Text size="xs" c="dimmed" mt={4}>
          {ACT_FN_OPTIONS.find((o) => o.value === form.actFn)?.help}
        </Text>
      </div>
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        {form.saeType === 'molt' ? (
          <Text size="sm" mt="lg">
            Latents (d_sae): the transforms of the rank table below
          </Text>
        ) : (
          <NumberInput
            label={
              <Help label="Number of latents (features). Expansion factor = d_sae / d_model.">Latents (d_sae)</Help>
            }
            description={ratio ? `expansion factor ${Number(ratio.toFixed(2))}` : ' '}
            value={form.dSae}
            onChange={(v) => w.set('dSae', numberOrEmpty(v))}
            min={1}
            allowDecimal={false}
            thousandSeparator=","
            error={w.shown.dSae}
            data-testid="d-sae"
          />
        )}
        {keepsTopK(form.actFn) ? <TopKInput w={w} /> : <SparsityCoefficientInput w={w} />}
      </SimpleGrid>
      {!keepsTopK(form.actFn) && (
        <Select
          label="Sparsity penalty"
          data={SPARSITY_OPTIONS}
          value={form.sparsityLoss}
          onChange={(v) => w.set('sparsityLoss', SPARSITY_LOSS_TYPES.find((t) => t === v) ?? form.sparsityLoss)}
          error={w.shown.sparsityLoss}
          allowDeselect={false}
        />
      )}
      <KindShape w={w} />
    </Stack>
  );
}

function TopKInput({ w }: { w: Wizard }) {
  return (
    <NumberInput
      label={<Help label="Active latents per token (the L0 the dictionary is trained for).">k</Help>}
      description=" "
      value={w.form.topK}
      onChange={(v) => w.set('topK', numberOrEmpty(v))}
      min={1}
      allowDecimal={false}
      error={w.shown.topK}
      data-testid="top-k"
    />
  );
}

function SparsityCoefficientInput({ w }: { w: Wizard }) {
  const label =
    'Weight of the sparsity penalty on activations × decoder norms (inputs are normalised to norm √d_model). Warmed up linearly over the first 10% of steps.';
  return (
    <NumberInput
      label={<Help label={label}>Sparsity coefficient</Help>}
      description=" "
      value={w.form.l1Coefficient}
      onChange={(v) => w.set('l1Coefficient', numberOrEmpty(v))}
      min={0}
      decimalScale={6}
      error={w.shown.l1Coefficient}
    />
  );
}
