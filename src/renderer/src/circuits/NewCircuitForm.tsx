/**
 * "New circuit": a prompt box with a preview of the next-token probabilities (given by the caller as the prompt
 * changes), the dictionary set that replaces the model, and the attribution settings under lm-saes's names, each
 * checked on its own field. Submitting hands a NewCircuitRequest to `onSubmit`; the page that places this form
 * runs it.
 */
import { Button, Card, Group, Select, SimpleGrid, Stack, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useMemo, useState } from 'react';
import { LogitProbs } from './LogitProbs';
import {
  checkCircuitForm,
  defaultCircuitForm,
  SETTING_NAMES,
  SETTING_RULES,
  toCircuitRequest,
  type NewCircuitForm as Form,
  type NewCircuitRequest,
} from './new-circuit-model';

export interface NewCircuitFormProps {
  /** The dictionary sets in the store that can replace a model. */
  sets: readonly string[];
  /** The next-token probabilities of the current prompt, or null while there are none. */
  preview: readonly { token: string; prob: number }[] | null;
  onPromptChange?: (prompt: string) => void;
  /** Told when the chosen dictionary set changes. */
  onSetChange?: (set: string) => void;
  onSubmit: (request: NewCircuitRequest) => void;
  /** True while a submitted request is under way. */
  busy?: boolean;
  /** The longest prompt accepted, in characters. */
  maxPromptChars?: number;
}

export function NewCircuitForm(props: NewCircuitFormProps) {
  const [form, setForm] = useState<Form>(() => defaultCircuitForm(props.sets.length === 1 ? props.sets[0] : ''));
  const [touched, setTouched] = useState(false);
  const errors = useMemo(() => checkCircuitForm(form, props.maxPromptChars), [form, props.maxPromptChars]);
  const valid = Object.keys(errors).length === 0;
  const shown = (field: keyof typeof errors) => (touched || field !== 'prompt' ? errors[field] : undefined);
  const preview = (props.preview ?? []).map((p, i) => ({
    id: String(i),
    token: p.token,
    prob: p.prob,
    target: i === 0,
  }));
  return (
    <Card withBorder data-testid="new-circuit-form">
      <Stack gap="sm">
        <Title order={4}>New circuit</Title>
        <Select
          label="Dictionary set"
          placeholder={props.sets.length === 0 ? 'no dictionary set in the store' : 'choose a set'}
          data={[...props.sets]}
          value={form.set || null}
          onChange={(v) => {
            setForm((f) => ({ ...f, set: v ?? '' }));
            props.onSetChange?.(v ?? '');
          }}
          error={errors.set}
          data-testid="circuit-set"
        />
        <Textarea
          label="Prompt"
          rows={3}
          value={form.prompt}
          error={shown('prompt')}
          data-testid="circuit-prompt"
          onChange={(e) => {
            const prompt = e.currentTarget.value;
            setTouched(true);
            setForm((f) => ({ ...f, prompt }));
            props.onPromptChange?.(prompt);
          }}
        />
        {props.preview && <LogitProbs tokens={preview} />}
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs">
          {SETTING_NAMES.map((name) => (
            <TextInput
              key={name}
              label={SETTING_RULES[name].label}
              description={SETTING_RULES[name].help}
              value={form.settings[name]}
              error={errors[name]}
              data-testid={`circuit-${name}`}
              onChange={(e) => {
                const value = e.currentTarget.value;
                setForm((f) => ({ ...f, settings: { ...f.settings, [name]: value } }));
              }}
            />
          ))}
        </SimpleGrid>
        <Group justify="flex-end">
          {!valid && touched && (
            <Text size="xs" c="dimmed">
              Fix the fields marked in red.
            </Text>
          )}
          <Button
            disabled={!valid || props.busy === true}
            loading={props.busy}
            data-testid="circuit-submit"
            onClick={() => props.onSubmit(toCircuitRequest(form, props.maxPromptChars))}
          >
            Compute the graph
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
