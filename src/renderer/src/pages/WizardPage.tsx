/**
 * New experiment: a step-by-step form — model, dataset (with a tokenized preview), hook point, dictionary type,
 * hyperparameters, compute backend, review — checked as it is typed by the studio's own config check (the schema the
 * CLI uses), with each problem shown on its field. Launching starts the run and opens its dashboard.
 */
import { Button, Card, Group, Stack, Stepper, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { ComputeStep } from '../wizard/ComputeStep';
import { DatasetStep } from '../wizard/DatasetStep';
import { DictionaryStep } from '../wizard/DictionaryStep';
import { HookStep } from '../wizard/HookStep';
import { KindStep } from '../wizard/KindStep';
import { ModelStep } from '../wizard/ModelStep';
import { ReviewStep } from '../wizard/ReviewStep';
import { TrainingStep } from '../wizard/TrainingStep';
import { useWizard, type Wizard } from '../wizard/use-wizard';
import { STEPS, type StepKey } from '../wizard/wizard-model';

const STEP_VIEWS: Record<StepKey, (props: { w: Wizard }) => ReactNode> = {
  model: ModelStep,
  dataset: DatasetStep,
  kind: KindStep,
  hook: HookStep,
  dictionary: DictionaryStep,
  training: TrainingStep,
  compute: ComputeStep,
  review: ReviewStep,
};

export function WizardPage() {
  const w = useWizard();
  return (
    <Stack maw={980}>
      <Title order={2}>New experiment</Title>
      <Stepper active={w.active} onStepClick={w.setActive} size="sm" wrap>
        {STEPS.map((s, i) => {
          const View = STEP_VIEWS[s.key];
          return (
            <Stepper.Step
              key={s.key}
              label={s.label}
              color={w.stepHasError(i) ? 'red' : undefined}
              data-testid={`step-${s.key}`}
            >
              <Card withBorder mt="md" padding="lg">
                <View w={w} />
              </Card>
            </Stepper.Step>
          );
        })}
      </Stepper>
      <WizardNavigation w={w} />
    </Stack>
  );
}

/** Back, and Next (blocked while the step has an error) or, on the last step, Launch. */
function WizardNavigation({ w }: { w: Wizard }) {
  const last = STEPS.length - 1;
  return (
    <Group justify="space-between">
      <Button variant="default" onClick={() => w.setActive((a) => Math.max(0, a - 1))} disabled={w.active === 0}>
        Back
      </Button>
      {w.active < last ? (
        <Button
          onClick={() => w.setActive((a) => Math.min(last, a + 1))}
          disabled={w.stepHasError(w.active)}
          data-testid="wizard-next"
        >
          Next
        </Button>
      ) : (
        <Button
          onClick={() => void w.launch()}
          loading={w.launching}
          disabled={w.checked === null || w.anyStepHasError}
          data-testid="wizard-launch"
        >
          Launch training
        </Button>
      )}
    </Group>
  );
}
