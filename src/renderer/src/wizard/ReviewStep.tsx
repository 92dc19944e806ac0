// The wizard's review step: what is wrong (by step and by field), the run in one sentence, and the train config
// with every default filled in — the same file `sae-studio train --config` takes.
import { Alert, Code, Stack, Text } from '@mantine/core';
import type { Wizard } from './use-wizard';
import { DICTIONARY_KIND_TEXTS } from '../../../protocol/dictionary-kinds';
import { hookName } from '../../../protocol/hook-names';
import { cltHooks } from './kind-fields';
import { ACT_FN_OPTIONS, formDSae, runLength, STEPS, toTrainConfig, type WizardForm } from './wizard-model';

export function ReviewStep({ w }: { w: Wizard }) {
  const { form, errors } = w;
  const actFn = ACT_FN_OPTIONS.find((o) => o.value === form.actFn)?.label ?? form.actFn;
  const dSae = formDSae(form);
  return (
    <Stack>
      {errors.other.length > 0 && (
        <Alert color="red" title="The config has problems">
          {errors.other.map((i) => (
            <Text key={i.field + i.message} size="sm">
              {i.field ? `${i.field}: ` : ''}
              {i.message}
            </Text>
          ))}
        </Alert>
      )}
      {w.anyStepHasError && (
        <Alert color="red" title="Fix the marked steps first">
          {STEPS.filter((_, i) => w.stepHasError(i))
            .map((s) => s.label)
            .join(', ')}
        </Alert>
      )}
      <Text size="sm" data-testid="review-summary">
        {actFn} {kindName(form)} with {dSae === null ? '?' : dSae.toLocaleString('en-US')} latents on{' '}
        <Code>{kindHooks(form)}</Code> of <Code>{w.model?.name ?? form.model}</Code>, {runLength(form) ?? '?'}.
      </Text>
      <Text size="xs" c="dimmed">
        The train config (the same file `sae-studio train --config` takes), every default filled in:
      </Text>
      <Code block style={{ maxHeight: 320, overflow: 'auto' }} data-testid="review-config">
        {JSON.stringify(w.checked ?? toTrainConfig(form), null, 2)}
      </Code>
      {w.launchError && (
        <Alert color="red" title="Not started">
          {w.launchError}
        </Alert>
      )}
    </Stack>
  );
}

function kindName(f: WizardForm): string {
  if (f.saeType === 'sae') return f.hookOut ? 'transcoder' : 'SAE';
  return DICTIONARY_KIND_TEXTS[f.saeType].short;
}

/** The hooks the dictionary reads (→ the hooks it writes, where they differ). */
function kindHooks(f: WizardForm): string {
  switch (f.saeType) {
    case 'crosscoder':
      return f.crosscoderHooks?.join(', ') || '?';
    case 'clt': {
      const h = cltHooks(f);
      return h.in.length > 0 ? `${h.in[0]} … ${h.out.at(-1)} (${h.in.length} layers)` : '?';
    }
    case 'lorsa':
      return typeof f.lorsaLayer === 'number'
        ? `${hookName(f.lorsaLayer, 'ln1.hook_normalized')} → ${hookName(f.lorsaLayer, 'attn_out')}`
        : '?';
    case 'sae':
    case 'molt':
      return f.hookOut && f.hookOut !== f.hookIn ? `${f.hookIn} → ${f.hookOut}` : f.hookIn || '?';
  }
}
