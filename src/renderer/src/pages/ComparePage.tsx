/**
 * Two dictionaries of the same hook side by side (k 32 against k 64, 4,096 against 16,384 latents): features matched
 * by decoder cosine — the splits (one feature of A, several of B), the features new in B, the mutual-nearest pairs
 * and the features of A gone in B — each with its top tokens and interpretation, linked to its page.
 */
import {
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  NumberInput,
  Select,
  SimpleGrid,
  Stack,
  Tabs,
  Text,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import type { DictionaryComparisonView, FeatureGlimpse } from '../../../protocol/exploration';
import { errorText, useLoad, useStudio } from '../client/studio';
import { fmtInt, fmtNum, fmtPct, tokenLabel } from '../components/format';
import { Empty, ErrorNote } from '../components/States';
import { Link, currentPath, queryParam } from '../router';

function Feature({ dictionary, f }: { dictionary: string; f: FeatureGlimpse }) {
  return (
    <div>
      <Group gap={6}>
        <Anchor component={Link} to={`/dictionaries/${encodeURIComponent(dictionary)}/features/${f.index}`}>
          {dictionary} #{f.index}
        </Anchor>
        <Text size="xs" c="dimmed">
          {f.frequency === null ? 'not analysed' : `fires on ${fmtPct(f.frequency, 3)}`}
        </Text>
      </Group>
      <Text size="xs" ff="monospace">
        {f.topTokens.length ? f.topTokens.slice(0, 5).map(tokenLabel).join(' · ') : '—'}
      </Text>
      {f.interpretation && (
        <Text size="xs" c="dimmed">
          {f.interpretation}
        </Text>
      )}
    </div>
  );
}

function Cos({ v }: { v: number }) {
  return (
    <Badge variant="light" className="num">
      cos {fmtNum(v, 3)}
    </Badge>
  );
}

function Lists({ c }: { c: DictionaryComparisonView }) {
  const [A, B] = [c.a.name, c.b.name];
  return (
    <Tabs defaultValue="splits" keepMounted={false}>
      <Tabs.List>
        <Tabs.Tab value="splits">Splits ({fmtInt(c.counts.splits)})</Tabs.Tab>
        <Tabs.Tab value="new">
          New in {B} ({fmtInt(c.counts.newInB)})
        </Tabs.Tab>
        <Tabs.Tab value="mutual">Mutual pairs ({fmtInt(c.counts.mutual)})</Tabs.Tab>
        <Tabs.Tab value="gone">
          Gone from {A} ({fmtInt(c.counts.goneFromA)})
        </Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="splits" pt="sm">
        <Stack gap="xs" data-testid="compare-splits">
          {c.splits.length === 0 && (
            <Empty>
              No feature of {A} is split in {B} at this threshold.
            </Empty>
          )}
          {c.splits.map((s) => (
            <Card withBorder key={s.a.index} data-testid="compare-split">
              <SimpleGrid cols={2}>
                <Feature dictionary={A} f={s.a} />
                <Stack gap={6}>
                  {s.children.map((x) => (
                    <Group key={x.b.index} align="flex-start" wrap="nowrap">
                      <Cos v={x.cosine} />
                      <Feature dictionary={B} f={x.b} />
                    </Group>
                  ))}
                </Stack>
              </SimpleGrid>
            </Card>
          ))}
        </Stack>
      </Tabs.Panel>
      <Tabs.Panel value="new" pt="sm">
        <Stack gap="xs" data-testid="compare-new">
          {c.newInB.map((n) => (
            <Card withBorder key={n.b.index} p="xs">
              <Group align="flex-start" wrap="nowrap">
                <Cos v={n.cosine} />
                <Feature dictionary={B} f={n.b} />
                <Text size="xs" c="dimmed">
                  closest in {A}: #{n.bestA}
                </Text>
              </Group>
            </Card>
          ))}
        </Stack>
      </Tabs.Panel>
      <Tabs.Panel value="mutual" pt="sm">
        <Stack gap="xs" data-testid="compare-mutual">
          {c.mutual.map((p) => (
            <Card withBorder key={`${p.a.index}-${p.b.index}`} p="xs">
              <SimpleGrid cols={3}>
                <Feature dictionary={A} f={p.a} />
                <Cos v={p.cosine} />
                <Feature dictionary={B} f={p.b} />
              </SimpleGrid>
            </Card>
          ))}
        </Stack>
      </Tabs.Panel>
      <Tabs.Panel value="gone" pt="sm">
        <Stack gap="xs">
          {c.goneFromA.map((g) => (
            <Card withBorder key={g.a.index} p="xs">
              <Group align="flex-start" wrap="nowrap">
                <Cos v={g.cosine} />
                <Feature dictionary={A} f={g.a} />
                <Text size="xs" c="dimmed">
                  closest in {B}: #{g.bestB}
                </Text>
              </Group>
            </Card>
          ))}
        </Stack>
      </Tabs.Panel>
    </Tabs>
  );
}

export function ComparePage() {
  const client = useStudio();
  const dicts = useLoad((c) => c.listDictionaries({}), []);
  const [a, setA] = useState<string | null>(() => queryParam(currentPath(), 'a'));
  const [b, setB] = useState<string | null>(() => queryParam(currentPath(), 'b'));
  const [threshold, setThreshold] = useState<number | string>(0.7);
  const [result, setResult] = useState<DictionaryComparisonView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const all = dicts.data?.dictionaries ?? [];
  const hookOfA = all.find((d) => d.name === a)?.hookPointOut;
  const run = async () => {
    if (!a || !b) return setError('Choose two dictionaries.');
    setBusy(true);
    setError(null);
    try {
      setResult(await client.compareDictionaries({ a, b, threshold: Number(threshold) }));
    } catch (err) {
      setError(errorText(err));
      setResult(null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Stack>
      <Title order={2}>Compare dictionaries</Title>
      <Card withBorder>
        <Group align="flex-end">
          <Select label="A" data={all.map((d) => d.name)} value={a} onChange={setA} w={240} data-testid="compare-a" />
          <Select
            label="B (same hook)"
            data={all.filter((d) => d.name !== a && (!hookOfA || d.hookPointOut === hookOfA)).map((d) => d.name)}
            value={b}
            onChange={setB}
            w={240}
            data-testid="compare-b"
          />
          <NumberInput
            label="Match cosine"
            value={threshold}
            onChange={setThreshold}
            min={0}
            max={0.99}
            step={0.05}
            decimalScale={2}
            w={130}
          />
          <Button onClick={() => void run()} loading={busy} data-testid="compare-run">
            Compare
          </Button>
        </Group>
      </Card>
      {error && <ErrorNote error={error} />}
      {result && (
        <>
          <Text size="sm" data-testid="compare-summary">
            {result.a.name} ({fmtInt(result.a.dSae)} latents) → {result.b.name} ({fmtInt(result.b.dSae)} latents) at{' '}
            {result.a.hook}: {fmtInt(result.counts.matchedInB)} features of B match one of A at cos ≥{' '}
            {fmtNum(result.threshold, 2)}, {fmtInt(result.counts.splits)} splits, {fmtInt(result.counts.newInB)} new,{' '}
            {fmtInt(result.counts.mutual)} mutual pairs ({fmtNum(result.seconds, 2)} s)
          </Text>
          <Lists c={result} />
        </>
      )}
    </Stack>
  );
}
