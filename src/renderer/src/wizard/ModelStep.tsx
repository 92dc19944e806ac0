// The wizard's model step: an embedded model or a Hugging Face folder (checked as its path settles), and what the
// chosen model is.
import { Badge, Button, Card, Group, SegmentedControl, Select, Stack, Text, TextInput } from '@mantine/core';
import type { ModelInfo } from '../../../protocol/models';
import type { Wizard } from './use-wizard';

const SOURCES = [
  { value: 'bundled', label: 'Embedded model' },
  { value: 'folder', label: 'Hugging Face folder' },
] as const;

export function ModelStep({ w }: { w: Wizard }) {
  const { form } = w;
  const chooseSource = (v: string) => {
    const source = v === 'folder' ? 'folder' : 'bundled';
    w.update({ modelSource: source, model: source === 'bundled' ? (w.models[0]?.ref ?? '') : '' });
  };
  return (
    <Stack>
      <SegmentedControl value={form.modelSource} onChange={chooseSource} data={[...SOURCES]} />
      {form.modelSource === 'bundled' ? (
        <Select
          label="Model"
          data={w.models.map((m) => ({
            value: m.ref,
            label: `${m.name} (${m.architecture}, ${m.nLayers} layers, d_model ${m.dModel})`,
          }))}
          value={form.model}
          onChange={(v) => v && w.set('model', v)}
          error={w.shown.model}
          allowDeselect={false}
        />
      ) : (
        <Group align="flex-start" wrap="nowrap">
          <TextInput
            style={{ flex: 1 }}
            label="Model folder"
            description="A folder with config.json, model.safetensors and tokenizer.json"
            placeholder="/path/to/model"
            value={form.model}
            onChange={(e) => w.set('model', e.currentTarget.value)}
            error={w.shown.model}
            data-testid="model-folder"
          />
          {window.api && (
            <Button mt={48} variant="default" onClick={() => void w.pick('model')}>
              Browse…
            </Button>
          )}
        </Group>
      )}
      {w.model && <ModelCard model={w.model} />}
    </Stack>
  );
}

function ModelCard({ model }: { model: ModelInfo }) {
  return (
    <Card withBorder padding="sm" data-testid="model-card">
      <Group gap="xs">
        <Badge variant="light">{model.architecture}</Badge>
        <Text size="sm">
          {model.nLayers} layers · d_model {model.dModel} · {model.nHeads} heads · vocabulary{' '}
          {model.dVocab.toLocaleString('en-US')} · context {model.nCtx}
        </Text>
      </Group>
    </Card>
  );
}
