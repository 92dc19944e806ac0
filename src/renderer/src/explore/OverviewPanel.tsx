/**
 * A dictionary at a glance: how often its features fire (log10 frequency) and how strongly (largest activation), as
 * histograms over the analysis, the dead and dense counts, the evaluation stored with it, and a random live feature.
 */
import { Button, Card, Group, SimpleGrid, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import { errorText, useLoad, useStudio } from '../client/studio';
import { fmtInt, fmtNum, fmtPct } from '../components/format';
import { Histogram } from '../components/Histogram';
import { LoadedView } from '../components/LoadedView';
import { navigate } from '../router';

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text fw={600} className="num" data-testid={testId}>
        {value}
      </Text>
    </div>
  );
}

export function OverviewPanel({ dictionary }: { dictionary: string }) {
  const overview = useLoad((c) => c.dictionaryOverview({ dictionary }), [dictionary]);
  return (
    <LoadedView state={overview} what="the overview">
      {(o) => {
        const m = o.metrics ?? {};
        return (
          <Stack data-testid="dictionary-overview">
            <SimpleGrid cols={{ base: 2, md: 6 }}>
              <Stat label="Explained variance" value={fmtNum(m.explained_variance ?? null)} testId="overview-ev" />
              <Stat label="L0" value={fmtNum(m.l0 ?? null, 2)} testId="overview-l0" />
              <Stat label="CE loss recovered" value={fmtNum(m.ce_loss_recovered ?? null)} testId="overview-ce" />
              <Stat label="Features analysed" value={fmtInt(o.nFeatures)} />
              <Stat label="Dead (never fired)" value={fmtInt(o.dead)} testId="overview-dead" />
              <Stat label={`Dense (> ${fmtPct(o.denseFrequency)} of tokens)`} value={fmtInt(o.dense)} />
            </SimpleGrid>
            {o.analysis === null ? (
              <Text c="dimmed">No analysis yet: the distributions come from one.</Text>
            ) : (
              <SimpleGrid cols={{ base: 1, md: 2 }}>
                <Card withBorder>
                  <Text size="sm" fw={500}>
                    Feature frequency (log10, live features)
                  </Text>
                  <Text size="xs" c="dimmed" mb="xs">
                    analysis “{o.analysis}” over {fmtInt(o.nAnalyzedTokens)} tokens
                  </Text>
                  <Histogram edges={o.logFrequency.edges} counts={o.logFrequency.counts} />
                </Card>
                <Card withBorder>
                  <Text size="sm" fw={500} mb="xs">
                    Largest activation per feature
                  </Text>
                  <Histogram edges={o.maxActivation.edges} counts={o.maxActivation.counts} />
                </Card>
              </SimpleGrid>
            )}
          </Stack>
        );
      }}
    </LoadedView>
  );
}

/** Opens a feature drawn at random among those that fired in the analysis. */
export function RandomFeatureButton({ dictionary }: { dictionary: string }) {
  const client = useStudio();
  const [error, setError] = useState<string | null>(null);
  const go = async () => {
    try {
      const { index } = await client.randomFeature({ dictionary });
      if (index === null) setError('No feature fired in the analysis (or there is no analysis yet).');
      else navigate(`/dictionaries/${encodeURIComponent(dictionary)}/features/${index}`);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <Group gap="xs">
      <Button variant="default" size="xs" onClick={() => void go()} data-testid="random-feature">
        Random feature
      </Button>
      {error && (
        <Text size="xs" c="red">
          {error}
        </Text>
      )}
    </Group>
  );
}
