// The wizard's review step: what is wrong (by step and by field), the run in one sentence, and the train config
// with every default filled in — the same file `sae-studio train --config` takes.
import { Alert, Code, Stack, Text } from '@mantine/core';
import type { Wizard } from './use-wizard';
import { ACT_FN_OPTIONS, runLength, STEPS, toTrainConfig } from './wizard-model';

export function ReviewStep({ w }: { w: Wizard }) {
  const { form, errors } = w;
  const actFn = ACT_FN_OPTIONS.find((o) => o.value === form.actFn)?.label ?? form.actFn;
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
      <Text size="sm">
        {actFn} {form.hookOut ? 'transcoder' : 'SAE'} with {form.dSae === '' ? '?' : form.dSae.toLocaleString('en-US')}{' '}
        latents on <Code>{form.hookIn || '?'}</Code> of <Code>{w.model?.name ?? form.model}</Code>,{' '}
        {runLength(form) ?? '?'}.
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
