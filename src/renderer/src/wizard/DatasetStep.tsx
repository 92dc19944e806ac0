// The wizard's dataset step: the embedded corpus or a path (folder of .txt, .jsonl, .parquet), and a tokenized
// preview of its first documents.
import { Alert, Button, Card, Code, Group, SegmentedControl, Stack, Text, TextInput } from '@mantine/core';
import type { DatasetPreview } from '../../../protocol/system';
import { tokenLabel } from '../components/format';
import type { Wizard } from './use-wizard';
import { EMBEDDED_CORPUS } from './wizard-model';

const SOURCES = [
  { value: 'embedded', label: 'Embedded corpus' },
  { value: 'path', label: 'Folder, .jsonl or .parquet' },
] as const;

export function DatasetStep({ w }: { w: Wizard }) {
  const { form, preview } = w;
  const error = w.shown.dataset;
  const chooseSource = (v: string) => {
    const source = v === 'path' ? 'path' : 'embedded';
    w.update({ datasetSource: source, dataset: source === 'embedded' ? EMBEDDED_CORPUS : '' });
  };
  return (
    <Stack>
      <SegmentedControl value={form.datasetSource} onChange={chooseSource} data={[...SOURCES]} />
      {form.datasetSource === 'embedded' ? (
        <Text size="sm">
          <Code>{EMBEDDED_CORPUS}</Code>: the corpus pdlm-4l-256 was trained on, with its reference train / validation
          split.
        </Text>
      ) : (
        <DatasetPathInput w={w} error={error} />
      )}
      {form.datasetSource === 'embedded' && error && (
        <Text c="red" size="sm">
          {error}
        </Text>
      )}
      <Group>
        <Button
          variant="light"
          size="xs"
          onClick={preview.refresh}
          disabled={form.dataset.trim() === ''}
          loading={preview.loading}
        >
          Preview tokenized samples
        </Button>
      </Group>
      {preview.error && <Alert color="red">{preview.error}</Alert>}
      {preview.result?.ok && <PreviewSamples preview={preview.result} />}
    </Stack>
  );
}

function DatasetPathInput({ w, error }: { w: Wizard; error: string | undefined }) {
  return (
    <Group align="flex-start" wrap="nowrap">
      <TextInput
        style={{ flex: 1 }}
        label="Dataset"
        description="A folder of .txt files, a .jsonl file (field `text`) or a .parquet file (column `text`)"
        placeholder="/path/to/data.jsonl"
        value={w.form.dataset}
        onChange={(e) => w.set('dataset', e.currentTarget.value)}
        error={error}
        data-testid="dataset-path"
      />
      {window.api && (
        <Group mt={48} gap="xs" wrap="nowrap">
          <Button variant="default" onClick={() => void w.pick('dataset-file')}>
            File…
          </Button>
          <Button variant="default" onClick={() => void w.pick('dataset-folder')}>
            Folder…
          </Button>
        </Group>
      )}
    </Group>
  );
}

function PreviewSamples({ preview }: { preview: Extract<DatasetPreview, { ok: true }> }) {
  return (
    <Stack gap="xs" data-testid="dataset-preview">
      <Text size="xs" c="dimmed">
        {preview.kind}, {preview.files} file(s); the first documents, split by the model's tokenizer:
      </Text>
      {preview.samples.map((s) => (
        <Card key={s.id} withBorder padding="xs">
          <Text size="xs" c="dimmed" mb={4}>
            {s.id} — {s.totalTokens.toLocaleString('en-US')} tokens
          </Text>
          <Group gap={4}>
            {s.tokens.map((t, i) => (
              <span key={i} className="token-chip">
                {tokenLabel(t)}
              </span>
            ))}
            {s.totalTokens > s.tokens.length && <Text size="xs">…</Text>}
          </Group>
        </Card>
      ))}
    </Stack>
  );
}
