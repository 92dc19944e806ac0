// The wizard's hook step: the TransformerLens hook an SAE reads, and for a transcoder the hook it writes; the other
// kinds' hooks in KindHooks.tsx.
import { Select, Stack, Switch } from '@mantine/core';
import { Help } from './Help';
import { KindHooks } from './KindHooks';
import type { Wizard } from './use-wizard';
import { transcoderTarget } from './wizard-model';

export function HookStep({ w }: { w: Wizard }) {
  const { form, hookOptions } = w;
  if (form.saeType !== 'sae') return <KindHooks w={w} />;
  return (
    <Stack>
      <Select
        label={
          <Help label="The TransformerLens hook whose activations the dictionary reconstructs (hook_resid_post: the residual stream after a block).">
            Hook point
          </Help>
        }
        searchable
        data={hookOptions}
        value={form.hookIn || null}
        onChange={(v) => v && w.set('hookIn', v)}
        error={w.shown.hookIn}
        placeholder={w.model ? undefined : 'choose a model first'}
        nothingFoundMessage="no such hook in this model"
        data-testid="hook-in"
      />
      <Switch
        label="Transcoder: reconstruct another hook's activations from this one's"
        checked={form.hookOut !== ''}
        onChange={(e) => w.set('hookOut', e.currentTarget.checked ? transcoderTarget(form.hookIn, hookOptions) : '')}
      />
      {form.hookOut !== '' && (
        <Select
          label="Output hook point"
          searchable
          data={hookOptions}
          value={form.hookOut}
          onChange={(v) => v && w.set('hookOut', v)}
          error={w.shown.hookOut}
        />
      )}
    </Stack>
  );
}
