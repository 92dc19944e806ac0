/**
 * Which model explains and how: a local model folder (run here, nothing leaves the machine) or an OpenAI-compatible
 * endpoint (base URL, model, API key — the key kept in memory only), the scorers and the answer length.
 */
import { Checkbox, Group, NumberInput, PasswordInput, SegmentedControl, Stack, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import {
  explainerSettings,
  rememberExplainerSettings,
  type ExplainerSettings,
  type ScorerName,
} from './explainer-settings';

export function useExplainerSettings(): [ExplainerSettings, (s: ExplainerSettings) => void] {
  const [s, set] = useState(explainerSettings);
  return [
    s,
    (next) => {
      rememberExplainerSettings(next);
      set(next);
    },
  ];
}

export function ExplainerForm({
  value,
  onChange,
}: {
  value: ExplainerSettings;
  onChange: (s: ExplainerSettings) => void;
}) {
  const put = (patch: Partial<ExplainerSettings>) => onChange({ ...value, ...patch });
  return (
    <Stack gap="xs">
      <SegmentedControl
        data-testid="explainer-backend"
        value={value.backend}
        onChange={(v) => put({ backend: v as ExplainerSettings['backend'] })}
        data={[
          { value: 'local', label: 'Local model' },
          { value: 'openai', label: 'OpenAI-compatible endpoint' },
        ]}
      />
      {value.backend === 'local' ? (
        <TextInput
          label="Model folder or bundled model"
          description="An instruct model (Llama, Qwen, Gemma, GPT-2 architectures) run by SAE Studio; nothing leaves this machine."
          value={value.localModel}
          onChange={(e) => put({ localModel: e.currentTarget.value })}
          data-testid="explainer-local-model"
        />
      ) : (
        <Group grow align="flex-start">
          <TextInput label="Base URL" value={value.baseUrl} onChange={(e) => put({ baseUrl: e.currentTarget.value })} />
          <TextInput label="Model" value={value.model} onChange={(e) => put({ model: e.currentTarget.value })} />
          <PasswordInput
            label="API key"
            description="Kept in memory for this session only"
            value={value.apiKey}
            onChange={(e) => put({ apiKey: e.currentTarget.value })}
            autoComplete="off"
          />
        </Group>
      )}
      <Group align="flex-end">
        <Checkbox.Group label="Scorers" value={value.scorers} onChange={(v) => put({ scorers: v as ScorerName[] })}>
          <Group mt={4}>
            <Checkbox value="detection" label="Detection" />
            <Checkbox value="fuzzing" label="Fuzzing" />
          </Group>
        </Checkbox.Group>
        <NumberInput
          label="Max tokens per answer"
          value={value.maxTokens}
          min={1}
          max={8192}
          allowDecimal={false}
          onChange={(v) => typeof v === 'number' && put({ maxTokens: v })}
          w={180}
          data-testid="explainer-max-tokens"
        />
        <NumberInput
          label="Temperature"
          value={value.temperature}
          min={0}
          max={2}
          step={0.1}
          onChange={(v) => typeof v === 'number' && put({ temperature: v })}
          w={120}
        />
      </Group>
      <Text size="xs" c="dimmed">
        Explanations and scores follow lm-saes's auto-interpretation (detection and fuzzing as its scorers define them).
      </Text>
    </Stack>
  );
}
