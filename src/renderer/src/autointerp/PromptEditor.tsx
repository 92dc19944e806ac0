/**
 * The auto-interpretation prompts, visible and editable: the system prompts of the explanation, detection and
 * fuzzing steps (lm-saes's by default), saved in the studio home and used by the next Explain job.
 */
import { Alert, Button, Group, Stack, Text, Textarea } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { StudioResponse } from '../../../protocol/studio-service';
import { errorText, useStudio } from '../client/studio';

type Templates = StudioResponse<'getExplainPrompts'>['templates'];

const FIELDS: { key: keyof Templates; label: string; help: string }[] = [
  { key: 'explanationSystem', label: 'Explanation', help: '{cot_prompt}: the chain-of-thought steps' },
  { key: 'detectionSystem', label: 'Detection', help: '{n_examples}: the number of examples shown' },
  { key: 'fuzzingSystem', label: 'Fuzzing', help: '{n_examples}: the number of examples shown' },
];

export function PromptEditor() {
  const client = useStudio();
  const [draft, setDraft] = useState<Templates | null>(null);
  const [defaults, setDefaults] = useState<Templates | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    client.getExplainPrompts({}).then(
      (p) => {
        setDraft(p.templates);
        setDefaults(p.defaults);
      },
      (err: unknown) => setError(errorText(err)),
    );
  }, [client]);
  const save = async (templates: Partial<Templates> | null) => {
    setError(null);
    try {
      const p = await client.setExplainPrompts({ templates });
      setDraft(p.templates);
      setNote(templates === null ? "Reset to lm-saes's prompts." : 'Saved: the next job uses these prompts.');
    } catch (err) {
      setError(errorText(err));
    }
  };
  if (!draft || !defaults) return error ? <Alert color="red">{error}</Alert> : <Text size="sm">Loading prompts…</Text>;
  return (
    <Stack gap="sm" data-testid="prompt-editor">
      {FIELDS.map((f) => (
        <Textarea
          key={f.key}
          label={`${f.label} system prompt${draft[f.key] === defaults[f.key] ? " (lm-saes's)" : ' (edited)'}`}
          description={f.help}
          value={draft[f.key]}
          onChange={(e) => setDraft({ ...draft, [f.key]: e.currentTarget.value })}
          autosize
          minRows={3}
          maxRows={12}
          styles={{ input: { fontFamily: 'monospace', fontSize: 12 } }}
          data-testid={`prompt-${f.key}`}
        />
      ))}
      <Group>
        <Button onClick={() => void save(draft)} data-testid="prompts-save">
          Save prompts
        </Button>
        <Button variant="default" onClick={() => void save(null)}>
          Reset to lm-saes's
        </Button>
        {note && <Text size="sm">{note}</Text>}
      </Group>
      {error && <Alert color="red">{error}</Alert>}
    </Stack>
  );
}
