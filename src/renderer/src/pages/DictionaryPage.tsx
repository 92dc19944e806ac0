/**
 * One dictionary: its evaluation, the feature list (sorted and filtered by frequency, maximum activation and
 * interpretation text, paged), and "try text" — which features fire on each token of a prompt.
 */
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  NumberInput,
  Pagination,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { useEffect, useState } from 'react';
import { FEATURE_SORTS, type FeaturePage, type FeatureSort, type TokenFeatures } from '../../../protocol/features';
import { ServiceError } from '../../../protocol/service-error';
import { errorText, useLoad, useStudio, useStudioEvents } from '../client/studio';
import { fmtInt, fmtNum, fmtPct, tokenLabel } from '../components/format';
import { Empty, ErrorNote, Loading } from '../components/States';
import { TokenText } from '../components/TokenText';
import { Link, navigate } from '../router';
import { EvaluationTable } from '../components/EvaluationTable';
import { KindBadge } from '../components/KindViews';
import { ExplainFeatures } from '../autointerp/ExplainFeatures';
import { SteerPanel } from '../components/SteerPanel';
import { DictionaryActions } from '../explore/DictionaryActions';
import { OverviewPanel } from '../explore/OverviewPanel';

const PAGE = 50;

export function DictionaryPage({ name }: { name: string }) {
  const dicts = useLoad((c) => c.listDictionaries({}), [name]);
  const dictionary = dicts.data?.dictionaries.find((d) => d.name === name) ?? null;
  if (dicts.error) return <ErrorNote error={dicts.error} onRetry={dicts.reload} />;
  if (!dicts.data) return <Loading what={`dictionary ${name}`} />;
  if (!dictionary) return <ErrorNote error={`No dictionary named “${name}” in the store.`} />;
  return (
    <Stack>
      <div>
        <Group gap="sm">
          <Title order={2}>{dictionary.name}</Title>
          <KindBadge kind={dictionary.saeType} testId="dictionary-kind" />
        </Group>
        <Text c="dimmed" size="sm">
          {String(dictionary.config.act_fn ?? dictionary.saeType)} · {fmtInt(dictionary.dSae)} latents
          {cltLayers(dictionary) > 0 ? ` × ${cltLayers(dictionary)} layers` : ''} · {dictionary.hookPointIn} of{' '}
          {dictionary.modelName ?? '?'} · {dictionary.path}
        </Text>
        <DictionaryActions dictionary={name} />
      </div>
      <Tabs defaultValue="features" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="overview" data-testid="tab-overview">
            Overview
          </Tabs.Tab>
          <Tabs.Tab value="features">Features</Tabs.Tab>
          <Tabs.Tab value="try" data-testid="tab-try">
            Try text
          </Tabs.Tab>
          <Tabs.Tab value="evaluation">Evaluation</Tabs.Tab>
          <Tabs.Tab value="explain" data-testid="tab-explain">
            Explain features
          </Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="overview" pt="md">
          <OverviewPanel dictionary={name} />
        </Tabs.Panel>
        <Tabs.Panel value="features" pt="md">
          <FeatureList dictionary={name} layerSize={cltLayers(dictionary) > 0 ? dictionary.dSae : 0} />
        </Tabs.Panel>
        <Tabs.Panel value="try" pt="md">
          <TryText dictionary={name} />
        </Tabs.Panel>
        <Tabs.Panel value="explain" pt="md">
          <ExplainFeatures dictionary={name} />
        </Tabs.Panel>
        <Tabs.Panel value="evaluation" pt="md">
          {dictionary.metrics ? (
            <EvaluationTable dictionary={dictionary} />
          ) : (
            <Empty>Not evaluated yet (a run with evaluation windows records it).</Empty>
          )}
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

interface Filters {
  sort: FeatureSort;
  search: string;
  /** Percentages, '' for none. */
  minFreq: number | '';
  maxFreq: number | '';
  minMax: number | '';
  maxMax: number | '';
}

/** A CLT's layer count (its features are numbered layer by layer), 0 for every other kind. */
function cltLayers(d: { saeType: string; config: Record<string, unknown> }): number {
  const hooks = d.config.hook_points_in;
  return d.saeType === 'clt' && Array.isArray(hooks) ? hooks.length : 0;
}

/** `layerSize` > 0: features are (layer, latent) pairs numbered layer·layerSize + latent (a CLT). */
function FeatureList({ dictionary, layerSize }: { dictionary: string; layerSize: number }) {
  const client = useStudio();
  const [filters, setFilters] = useState<Filters>({
    sort: 'frequency',
    search: '',
    minFreq: '',
    maxFreq: '',
    minMax: '',
    maxMax: '',
  });
  const [page, setPage] = useState(1);
  const [result, setResult] = useState<FeaturePage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      const opt = (v: number | '', scale = 1) => (v === '' ? undefined : v * scale);
      client
        .listFeatures({
          dictionary,
          sort: filters.sort,
          limit: PAGE,
          offset: (page - 1) * PAGE,
          search: filters.search || undefined,
          minFrequency: opt(filters.minFreq, 0.01),
          maxFrequency: opt(filters.maxFreq, 0.01),
          minMaxActivation: opt(filters.minMax),
          maxMaxActivation: opt(filters.maxMax),
        })
        .then(
          (r) => {
            if (!live) return;
            setResult(r);
            setError(null);
            setFieldErrors({});
          },
          (err: unknown) => {
            if (!live) return;
            if (err instanceof ServiceError && err.issues)
              setFieldErrors(Object.fromEntries(err.issues.map((i) => [i.field, i.message])));
            else setError(errorText(err));
          },
        );
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [client, dictionary, filters, page, tick]);

  const setFilter = <K extends keyof Filters>(k: K, v: Filters[K]) => {
    setFilters((f) => ({ ...f, [k]: v }));
    setPage(1);
  };

  if (error) return <ErrorNote error={error} onRetry={() => setTick((t) => t + 1)} />;
  if (!result) return <Loading what="features" />;
  if (result.analysis === null) return <StartAnalysis dictionary={dictionary} onDone={() => setTick((t) => t + 1)} />;
  return (
    <Stack>
      <FeatureFilters filters={filters} fieldErrors={fieldErrors} onChange={setFilter} />
      <Text size="sm" c="dimmed">
        {fmtInt(result.total)} features match (analysis “{result.analysis}”).
      </Text>
      <FeatureTable dictionary={dictionary} items={result.items} layerSize={layerSize} />
      {result.total > PAGE && <Pagination total={Math.ceil(result.total / PAGE)} value={page} onChange={setPage} />}
    </Stack>
  );
}

const SORT_LABELS: Record<FeatureSort, string> = { frequency: 'frequency', max: 'max activation', index: 'index' };
const SORTS = Object.entries(SORT_LABELS).map(([value, label]) => ({ value, label }));

/** Sort order, interpretation search, and frequency / maximum-activation ranges, each with the service's complaint. */
function FeatureFilters(props: {
  filters: Filters;
  fieldErrors: Record<string, string>;
  onChange: <K extends keyof Filters>(k: K, v: Filters[K]) => void;
}) {
  const { filters, fieldErrors, onChange } = props;
  const num = (v: string | number): number | '' => (typeof v === 'number' ? v : '');
  return (
    <Card withBorder padding="sm">
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }}>
        <Select
          label="Sort by"
          value={filters.sort}
          onChange={(v) => onChange('sort', FEATURE_SORTS.find((s) => s === v) ?? filters.sort)}
          allowDeselect={false}
          data={SORTS}
        />
        <TextInput
          label="Interpretation"
          value={filters.search}
          onChange={(e) => onChange('search', e.currentTarget.value)}
          placeholder="search"
          data-testid="feature-search"
        />
        <NumberInput
          label="Min. freq. %"
          value={filters.minFreq}
          onChange={(v) => onChange('minFreq', num(v))}
          min={0}
          max={100}
          decimalScale={4}
          error={fieldErrors.minFrequency}
          data-testid="min-frequency"
        />
        <NumberInput
          label="Max. freq. %"
          value={filters.maxFreq}
          onChange={(v) => onChange('maxFreq', num(v))}
          min={0}
          max={100}
          decimalScale={4}
          error={fieldErrors.maxFrequency}
          data-testid="max-frequency"
        />
        <NumberInput
          label="Min. max act."
          value={filters.minMax}
          onChange={(v) => onChange('minMax', num(v))}
          decimalScale={4}
          error={fieldErrors.minMaxActivation}
        />
        <NumberInput
          label="Max. max act."
          value={filters.maxMax}
          onChange={(v) => onChange('maxMax', num(v))}
          decimalScale={4}
          error={fieldErrors.maxMaxActivation}
        />
      </SimpleGrid>
    </Card>
  );
}

/** One page of features: index (a link), frequency, activations, top logits, interpretation; a row opens its feature. */
function FeatureTable({
  dictionary,
  items,
  layerSize,
}: {
  dictionary: string;
  items: FeaturePage['items'];
  layerSize: number;
}) {
  const featurePath = (index: number) => `/dictionaries/${encodeURIComponent(dictionary)}/features/${index}`;
  return (
    <Card withBorder padding={0}>
      <Table.ScrollContainer minWidth={860}>
        <Table highlightOnHover striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th ta="right">#</Table.Th>
              <Table.Th ta="right">Frequency</Table.Th>
              <Table.Th ta="right">Max act.</Table.Th>
              <Table.Th ta="right">Mean act.</Table.Th>
              <Table.Th>Top logits</Table.Th>
              <Table.Th>Interpretation</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((f) => (
              <Table.Tr
                key={f.index}
                style={{ cursor: 'pointer' }}
                onClick={() => navigate(featurePath(f.index))}
                data-testid="feature-row"
              >
                <Table.Td ta="right" className="num">
                  <Anchor component={Link} to={featurePath(f.index)} onClick={(e) => e.stopPropagation()}>
                    {f.index}
                  </Anchor>
                  {layerSize > 0 && (
                    <Text span size="xs" c="dimmed">
                      {' '}
                      L{Math.floor(f.index / layerSize)}·{f.index % layerSize}
                    </Text>
                  )}
                  {f.bookmarked && ' ★'}
                </Table.Td>
                <Table.Td ta="right" className="num">
                  {fmtPct(f.frequency, 3)}
                </Table.Td>
                <Table.Td ta="right" className="num">
                  {fmtNum(f.maxActivation, 3)}
                </Table.Td>
                <Table.Td ta="right" className="num">
                  {fmtNum(f.meanActivation, 3)}
                </Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    {f.topLogits.slice(0, 4).map((l) => (
                      <span key={l.tokenId} className="token-chip">
                        {tokenLabel(l.token)}
                      </span>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td>
                  <Text size="sm" lineClamp={1}>
                    {f.interpretation ?? ''}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {items.length === 0 && <Empty>No feature matches these filters.</Empty>}
    </Card>
  );
}

function StartAnalysis({ dictionary, onDone }: { dictionary: string; onDone: () => void }) {
  const client = useStudio();
  const [tokens, setTokens] = useState<number | ''>(200_000);
  const [job, setJob] = useState<string | null>(null);
  const [progress, setProgress] = useState<string>('');
  const [error, setError] = useState<string | null>(null);
  useStudioEvents((e) => {
    if (e.jobId !== job) return;
    if (e.message.type === 'progress')
      setProgress(
        `${e.message.phase}: ${fmtInt(e.message.done)}${e.message.total !== null ? ` of ${fmtInt(e.message.total)}` : ''} ${e.message.unit}`,
      );
    if (e.message.type === 'ended') {
      setJob(null);
      if (e.message.status === 'done') onDone();
      else setError(e.message.error ?? `analysis ${e.message.status}`);
    }
  });
  const start = async () => {
    setError(null);
    try {
      const r = await client.startAnalysis({ dictionary, tokens: tokens === '' ? undefined : tokens });
      setJob(r.jobId);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <Card withBorder>
      <Stack>
        <Text>This dictionary's features have not been analysed yet.</Text>
        <Group align="flex-end">
          <NumberInput
            label="Tokens to analyse"
            value={tokens}
            onChange={(v) => setTokens(typeof v === 'number' ? v : '')}
            min={1}
            allowDecimal={false}
            thousandSeparator=","
          />
          <Button onClick={() => void start()} loading={job !== null}>
            Analyse features
          </Button>
        </Group>
        {job && <Text size="sm">{progress || 'starting…'}</Text>}
        {error && <Alert color="red">{error}</Alert>}
      </Stack>
    </Card>
  );
}

function TryText({ dictionary }: { dictionary: string }) {
  const client = useStudio();
  const [text, setText] = useState('');
  const [tokens, setTokens] = useState<TokenFeatures[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [selected, setSelected] = useState<number | null>(null);
  const run = async () => {
    setRunning(true);
    setError(null);
    try {
      const r = await client.featuresOnText({ dictionary, text, topFeatures: 10 });
      setTokens(r.tokens);
      setSelected(null);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setRunning(false);
    }
  };
  // Position 0 is BOS, which dictionaries are not trained on: listed on hover, never highlighted.
  const values =
    tokens?.map((t, i) =>
      i === 0
        ? 0
        : selected === null
          ? (t.features[0]?.activation ?? 0)
          : (t.features.find((f) => f.index === selected)?.activation ?? 0),
    ) ?? [];
  const counts = new Map<number, number>();
  for (const t of (tokens ?? []).slice(1))
    for (const f of t.features) counts.set(f.index, (counts.get(f.index) ?? 0) + 1);
  const frequent = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  return (
    <Stack>
      <Textarea
        label="Text"
        description="Tokenized with the dictionary's model (BOS first); each token shows the features that fire on it."
        autosize
        minRows={3}
        maxRows={10}
        value={text}
        onChange={(e) => setText(e.currentTarget.value)}
        error={error}
        data-testid="try-text-input"
      />
      <Group>
        <Button onClick={() => void run()} loading={running} disabled={text.trim() === ''} data-testid="try-text-run">
          Run
        </Button>
      </Group>
      {tokens && (
        <Card withBorder data-testid="try-text-result">
          <Text size="xs" c="dimmed" mb={6}>
            {selected === null ? 'Highlight: the strongest feature on each token.' : `Highlight: feature ${selected}.`}{' '}
            Hover a token for its features.
          </Text>
          <TokenText
            tokens={tokens.map((t) => t.token)}
            values={values}
            describe={(i) => {
              const features = tokens[i]?.features ?? [];
              return features.length === 0
                ? 'no feature fires'
                : features
                    .slice(0, 5)
                    .map((f) => `#${f.index} ${f.activation.toFixed(2)}`)
                    .join(', ');
            }}
          />
          <Text size="sm" fw={500} mt="sm" mb={4}>
            Features firing most often (click to highlight, open from the list below)
          </Text>
          <Group gap={6}>
            {frequent.map(([index, n]) => (
              <Badge
                key={index}
                variant={selected === index ? 'filled' : 'light'}
                style={{ cursor: 'pointer' }}
                onClick={() => setSelected(selected === index ? null : index)}
              >
                #{index} · {n} tokens
              </Badge>
            ))}
          </Group>
          <Group gap={6} mt="xs">
            {frequent.slice(0, 6).map(([index]) => (
              <Anchor
                key={index}
                component={Link}
                to={`/dictionaries/${encodeURIComponent(dictionary)}/features/${index}`}
                size="sm"
              >
                open #{index}
              </Anchor>
            ))}
          </Group>
        </Card>
      )}
      {tokens && <SteerPanel key={selected ?? -1} dictionary={dictionary} index={selected} prompt={text} />}
    </Stack>
  );
}
