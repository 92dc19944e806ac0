// The hook points of the kinds beyond `sae`: a crosscoder's heads (any hooks of the model), a CLT's layer range
// (ln2.hook_normalized → hook_mlp_out of each layer), a Lorsa's attention layer (ln1.hook_normalized →
// hook_attn_out) and a MoLT's MLP input and output.
import { Group, MultiSelect, NumberInput, Select, Stack, Text } from '@mantine/core';
import { hookName } from '../../../protocol/hook-names';
import { Help } from './Help';
import { cltHooks } from './kind-fields';
import type { Wizard } from './use-wizard';
import { numberOrEmpty } from './wizard-model';

export function KindHooks({ w }: { w: Wizard }) {
  switch (w.form.saeType) {
    case 'crosscoder':
      return <CrosscoderHooks w={w} />;
    case 'clt':
      return <CltLayers w={w} />;
    case 'lorsa':
      return <LorsaLayer w={w} />;
    case 'molt':
      return <MoltHooks w={w} />;
    case 'sae':
      return null;
  }
}

function CrosscoderHooks({ w }: { w: Wizard }) {
  return (
    <MultiSelect
      label={
        <Help label="Each hook is one head of the crosscoder: it reads all of them into one set of features and reconstructs each. Layers of one model (e.g. resid_post of layers 1–3) find features shared across depth.">
          Hook points (heads)
        </Help>
      }
      description="in head order; the same hook twice is refused"
      searchable
      data={w.hookOptions}
      value={w.form.crosscoderHooks ?? []}
      onChange={(v) => w.set('crosscoderHooks', v)}
      error={w.shown.crosscoderHooks}
      data-testid="crosscoder-hooks"
    />
  );
}

function layerInput(w: Wizard, field: 'cltFirstLayer' | 'cltLastLayer' | 'lorsaLayer', label: string, testId: string) {
  const max = w.model ? w.model.nLayers - 1 : undefined;
  return (
    <NumberInput
      label={label}
      value={w.form[field] ?? ''}
      onChange={(v) => w.set(field, numberOrEmpty(v))}
      min={0}
      max={max}
      allowDecimal={false}
      error={w.shown[field]}
      data-testid={testId}
    />
  );
}

function HookList({ label, hooks }: { label: string; hooks: string[] }) {
  return (
    <Text size="xs" c="dimmed">
      {label}: {hooks.length > 0 ? hooks.join(', ') : '—'}
    </Text>
  );
}

function CltLayers({ w }: { w: Wizard }) {
  const h = cltHooks(w.form);
  return (
    <Stack>
      <Text size="sm">
        One encoder per layer reads the MLP input; its features write to that layer&apos;s MLP output and every later
        one&apos;s.
      </Text>
      <Group grow>
        {layerInput(w, 'cltFirstLayer', 'First layer', 'clt-first-layer')}
        {layerInput(w, 'cltLastLayer', 'Last layer', 'clt-last-layer')}
      </Group>
      <HookList label="hook_points_in" hooks={h.in} />
      <HookList label="hook_points_out" hooks={h.out} />
    </Stack>
  );
}

function LorsaLayer({ w }: { w: Wizard }) {
  const layer = w.form.lorsaLayer;
  return (
    <Stack>
      <Text size="sm">
        A Lorsa replaces one attention layer: it reads the attention input and reconstructs its output.
      </Text>
      {layerInput(w, 'lorsaLayer', 'Attention layer', 'lorsa-layer')}
      {typeof layer === 'number' && (
        <Text size="xs" c="dimmed">
          {hookName(layer, 'ln1.hook_normalized')} → {hookName(layer, 'attn_out')}
        </Text>
      )}
    </Stack>
  );
}

function MoltHooks({ w }: { w: Wizard }) {
  return (
    <Stack>
      <Select
        label={<Help label="What the transforms read: usually an MLP's input (ln2.hook_normalized).">Input hook</Help>}
        searchable
        data={w.hookOptions}
        value={w.form.hookIn || null}
        onChange={(v) => v && w.set('hookIn', v)}
        error={w.shown.hookIn}
        data-testid="hook-in"
      />
      <Select
        label={
          <Help label="What their sum reconstructs: usually the same MLP's output (hook_mlp_out).">Output hook</Help>
        }
        searchable
        data={w.hookOptions}
        value={w.form.hookOut || null}
        onChange={(v) => v && w.set('hookOut', v)}
        error={w.shown.hookOut}
        data-testid="hook-out"
      />
    </Stack>
  );
}
