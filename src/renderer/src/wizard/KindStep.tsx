// The wizard's kind step: which dictionary to train (lm-saes sae_type), each explained in one paragraph — the same
// label and description the core registry gives the kind (src/protocol/dictionary-kinds.ts).
import { Group, Radio, Stack, Text } from '@mantine/core';
import { DICTIONARY_KINDS } from '../../../protocol/run-config';
import type { Wizard } from './use-wizard';
import { KIND_OPTIONS } from './kind-fields';

export function KindStep({ w }: { w: Wizard }) {
  return (
    <Radio.Group
      value={w.form.saeType}
      onChange={(v) => {
        const kind = DICTIONARY_KINDS.find((k) => k === v);
        if (kind) w.chooseKind(kind);
      }}
      label="Dictionary kind"
      error={w.shown.saeType}
    >
      <Stack gap="xs" mt="xs">
        {KIND_OPTIONS.map((k) => (
          <Radio.Card key={k.value} value={k.value} p="sm" radius="md" data-testid={`kind-${k.value}`}>
            <Group wrap="nowrap" align="flex-start">
              <Radio.Indicator />
              <Stack gap={2}>
                <Text fw={600} size="sm">
                  {k.label}{' '}
                  <Text span c="dimmed" size="xs">
                    sae_type “{k.value}”
                  </Text>
                </Text>
                <Text size="xs" c="dimmed">
                  {k.description}
                </Text>
              </Stack>
            </Group>
          </Radio.Card>
        ))}
      </Stack>
    </Radio.Group>
  );
}
