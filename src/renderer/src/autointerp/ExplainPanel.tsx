/**
 * The feature page's Explain panel: the stored auto-interpretation (the model that wrote it, its detection and
 * fuzzing scores, the prompts it was given and its answers) and a button that explains this feature again.
 */
import { Accordion, Alert, Badge, Button, Card, Code, Group, Stack, Table, Text } from '@mantine/core';
import { useState } from 'react';
import type { Interpretation } from '../../../protocol/features';
import { autointerpView, type ScoreView } from './autointerp-detail';
import { ExplainerForm, useExplainerSettings } from './ExplainerForm';
import { explainRequest } from './explainer-settings';
import { useExplainJob } from './use-explain-job';

const METRICS = ['accuracy', 'precision', 'recall', 'f1', 'balanced_accuracy'] as const;

function Scores({ evaluations }: { evaluations: ScoreView[] }) {
  return (
    <Table data-testid="explain-scores">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Scorer</Table.Th>
          {METRICS.map((m) => (
            <Table.Th key={m} ta="right">
              {m.replace('_', ' ')}
            </Table.Th>
          ))}
          <Table.Th />
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {evaluations.map((e) => (
          <Table.Tr key={e.method} data-testid={`score-${e.method}`}>
            <Table.Td>{e.method}</Table.Td>
            {METRICS.map((m) => (
              <Table.Td key={m} ta="right" className="num">
                {(e.metrics[m] ?? 0).toFixed(3)}
              </Table.Td>
            ))}
            <Table.Td>
              {e.error ? (
                <Text size="xs" c="red" lineClamp={2} title={e.error}>
                  {e.error}
                </Text>
              ) : (
                <Badge color={e.passed ? 'green' : 'gray'}>{e.passed ? 'passed' : 'not passed'}</Badge>
              )}
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function PromptBlock({
  title,
  prompt,
  response,
}: {
  title: string;
  prompt: { system: string; user: string } | null;
  response: string;
}) {
  return (
    <Accordion.Item value={title}>
      <Accordion.Control>{title}</Accordion.Control>
      <Accordion.Panel>
        {prompt && (
          <>
            <Text size="xs" fw={500}>
              System
            </Text>
            <Code block mah={200} style={{ overflow: 'auto' }}>
              {prompt.system}
            </Code>
            <Text size="xs" fw={500} mt="xs">
              User
            </Text>
            <Code block mah={200} style={{ overflow: 'auto' }}>
              {prompt.user}
            </Code>
          </>
        )}
        <Text size="xs" fw={500} mt="xs">
          Answer
        </Text>
        <Code block mah={160} style={{ overflow: 'auto' }}>
          {response || '(none)'}
        </Code>
      </Accordion.Panel>
    </Accordion.Item>
  );
}

export function ExplainPanel({
  dictionary,
  index,
  interpretation,
  onChanged,
}: {
  dictionary: string;
  index: number;
  interpretation: Interpretation | null;
  onChanged: () => void;
}) {
  const view = autointerpView(interpretation?.detail ?? null);
  const [open, setOpen] = useState(false);
  const [settings, setSettings] = useExplainerSettings();
  const job = useExplainJob(onChanged);
  return (
    <Card withBorder data-testid="explain-panel">
      <Stack gap="sm">
        <Group justify="space-between">
          <Text fw={500}>Auto-interpretation</Text>
          <Button variant="light" size="xs" onClick={() => setOpen(!open)} data-testid="explain-open">
            {view ? 'Explain again…' : 'Explain this feature…'}
          </Button>
        </Group>
        {view ? (
          <>
            <Group gap="xs">
              <Text size="sm">Explained by</Text>
              <Badge variant="outline" data-testid="explainer-model">
                {view.explainer.backend}:{view.explainer.model}
              </Badge>
              {view.consistency !== null && <Badge variant="light">consistency {view.consistency}/5</Badge>}
              {view.complexity !== null && <Badge variant="light">complexity {view.complexity}/5</Badge>}
            </Group>
            {view.evaluations.length > 0 && <Scores evaluations={view.evaluations} />}
            <Accordion variant="separated" chevronPosition="left">
              <PromptBlock title="Explanation prompt and answer" prompt={view.prompt} response={view.response} />
              {view.evaluations.map((e) => (
                <PromptBlock
                  key={e.method}
                  title={`${e.method} prompt and answer`}
                  prompt={e.prompt}
                  response={e.response}
                />
              ))}
            </Accordion>
          </>
        ) : (
          <Text size="sm" c="dimmed">
            No auto-interpretation yet.
          </Text>
        )}
        {open && (
          <Stack gap="xs">
            <ExplainerForm value={settings} onChange={setSettings} />
            <Group>
              <Button
                onClick={() => void job.start(explainRequest(dictionary, String(index), settings, true))}
                loading={job.jobId !== null}
                data-testid="explain-feature-start"
              >
                Explain feature {index}
              </Button>
              {job.jobId && <Text size="sm">{job.total === null ? 'starting…' : 'explaining and scoring…'}</Text>}
            </Group>
          </Stack>
        )}
        {job.error && <Alert color="red">{job.error}</Alert>}
      </Stack>
    </Card>
  );
}
