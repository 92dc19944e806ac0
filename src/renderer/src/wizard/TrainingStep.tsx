// The wizard's training step: the dictionary's name, the run's length and batch, the learning rate and its warm-up,
// and what happens after training (evaluation, feature analysis).
import { NumberInput, SimpleGrid, TextInput } from '@mantine/core';
import { Help } from './Help';
import type { Wizard } from './use-wizard';
import { numberOrEmpty, runLength, type FormField, type WizardForm } from './wizard-model';

type NumberField = { [K in FormField]: WizardForm[K] extends number | '' ? K : never }[FormField];

export function TrainingStep({ w }: { w: Wizard }) {
  const { form } = w;
  /** The props every number input of this step shares: its value, its setter and its error. */
  const bind = (field: NumberField) => ({
    value: form[field],
    onChange: (v: string | number) => w.set(field, numberOrEmpty(v)),
    error: w.shown[field],
  });
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }}>
      <TextInput
        label={
          <Help label="The dictionary's name: a folder under the studio home, and its name in the store.">
            Dictionary name
          </Help>
        }
        value={form.name}
        onChange={(e) => w.set('name', e.currentTarget.value)}
        error={w.shown.name}
        data-testid="dict-name"
      />
      <NumberInput
        label="Training tokens"
        description={runLength(form) ?? ' '}
        {...bind('totalTokens')}
        min={1}
        allowDecimal={false}
        thousandSeparator=","
        data-testid="total-tokens"
      />
      <NumberInput
        label={<Help label="Tokens per optimiser step.">Batch size (tokens)</Help>}
        {...bind('batchSize')}
        min={1}
        allowDecimal={false}
        thousandSeparator=","
        data-testid="batch-size"
      />
      <NumberInput
        label={
          <Help label="Adam's learning rate, with a linear warm-up and a linear decay over the last 20% of steps.">
            Learning rate
          </Help>
        }
        {...bind('lr')}
        decimalScale={8}
        step={1e-4}
        data-testid="lr"
      />
      <NumberInput label="Warm-up steps" {...bind('warmupSteps')} min={0} />
      <NumberInput
        label={
          <Help label="After training: windows of held-out text for the evaluation table (explained variance, L0, CE loss recovered). 0 skips it.">
            Evaluation windows
          </Help>
        }
        {...bind('evalWindows')}
        min={0}
        allowDecimal={false}
        data-testid="eval-windows"
      />
      <NumberInput
        label={
          <Help label="After training: tokens over which every feature's statistics and top examples are collected for the feature browser. 0 skips it.">
            Feature analysis tokens
          </Help>
        }
        {...bind('analyzeTokens')}
        min={0}
        allowDecimal={false}
        thousandSeparator=","
        data-testid="analyze-tokens"
      />
    </SimpleGrid>
  );
}
