/**
 * The dictionary page's "Explain features" tab: auto-interpretation of many features as one job, with its progress
 * and a cancel; the explainer's settings and the prompts it is given.
 */
import { Accordion, Alert, Button, Card, Group, Progress, Stack, Switch, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import { ExplainerForm, useExplainerSettings } from './ExplainerForm';
import { explainRequest } from './explainer-settings';
import { PromptEditor } from './PromptEditor';
import { useExplainJob } from './use-explain-job';

export function ExplainFeatures({ dictionary, onChanged }: { dictionary: string; onChanged?: () => void }) {
  const [settings, setSettings] = useExplainerSettings();
  const [features, setFeatures] = useState('0-99');
  const [overwrite, setOverwrite] = useState(false);
  const job = useExplainJob(() => onChanged?.());
  const running = job.jobId !== null;
  return (
    <Stack>
      <Card withBorder>
        <Stack>
          <Group align="flex-end">
            <TextInput
              label="Features"
              description="all, or indices and ranges: 0-99,120"
              value={features}
              onChange={(e) => setFeatures(e.currentTarget.value)}
              data-testid="explain-features"
            />
            <Switch
              label="Replace existing interpretations"
              checked={overwrite}
              onChange={(e) => setOverwrite(e.currentTarget.checked)}
            />
          </Group>
          <ExplainerForm value={settings} onChange={setSettings} />
          <Group>
            <Button
              onClick={() => void job.start(explainRequest(dictionary, features, settings, overwrite))}
              loading={running}
              data-testid="explain-start"
            >
              Explain features
            </Button>
            {running && (
              <Button variant="default" color="red" onClick={() => void job.cancel()} data-testid="explain-cancel">
                Cancel
              </Button>
            )}
          </Group>
          {running && (
            <Stack gap={4} data-testid="explain-progress">
              <Progress value={job.total ? (100 * job.done) / job.total : 0} animated />
              <Text size="sm">{job.total === null ? 'starting…' : `${job.done} of ${job.total} features`}</Text>
            </Stack>
          )}
          {job.summary && (
            <Alert color="green" data-testid="explain-summary">
              {job.summary}
            </Alert>
          )}
          {job.error && <Alert color="red">{job.error}</Alert>}
        </Stack>
      </Card>
      <Accordion variant="contained">
        <Accordion.Item value="prompts">
          <Accordion.Control data-testid="prompts-toggle">Prompts</Accordion.Control>
          <Accordion.Panel>
            <PromptEditor />
          </Accordion.Panel>
        </Accordion.Item>
      </Accordion>
    </Stack>
  );
}
