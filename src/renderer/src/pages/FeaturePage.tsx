/**
 * One feature: its statistics, activation histogram, top and bottom logits, nearest decoder neighbours, the top and
 * quantile samples with per-token highlighting, an editable interpretation and a bookmark; for the other dictionary
 * kinds their own views (components/KindViews.tsx) in place of the logits and neighbours, which only an SAE has.
 */
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { FeatureDetail, FeatureSample } from '../../../protocol/features';
import { errorText, useStudio } from '../client/studio';
import { fmtInt, fmtNum, fmtPct, tokenLabel } from '../components/format';
import { Histogram } from '../components/Histogram';
import { FeatureKindView, KindBadge, SampleKindView } from '../components/KindViews';
import { Empty, ErrorNote, Loading } from '../components/States';
import { TokenText } from '../components/TokenText';
import { Link, queryParam, usePath } from '../router';
import { ExplainPanel } from '../autointerp/ExplainPanel';
import { SteerPanel } from '../components/SteerPanel';

/** Tokens shown on each side of a sample's strongest token, unless the whole window is asked for. */
const CONTEXT = 24;

/** Another feature is another view: its state starts afresh. */
export function FeaturePage({ name, index }: { name: string; index: number }) {
  return <FeatureView key={`${name}\n${index}`} name={name} index={index} />;
}

function FeatureView({ name, index }: { name: string; index: number }) {
  const client = useStudio();
  const [detail, setDetail] = useState<FeatureDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    () =>
      client.getFeature({ dictionary: name, index }).then(
        (d) => {
          setDetail(d);
          setError(null);
        },
        (err: unknown) => setError(errorText(err)),
      ),
    [client, name, index],
  );
  useEffect(() => {
    void load();
  }, [load]);

  if (error) return <ErrorNote error={error} onRetry={() => void load()} />;
  if (!detail) return <Loading what={`feature ${index}`} />;
  const s = detail.stats;
  const base = `/dictionaries/${encodeURIComponent(name)}/features/`;
  return (
    <Stack>
      <Group justify="space-between" align="flex-start">
        <div>
          <Text size="sm">
            <Anchor component={Link} to={`/dictionaries/${encodeURIComponent(name)}`}>
              {name}
            </Anchor>
          </Text>
          <Group gap="sm" align="center">
            <Title order={2} data-testid="feature-title">
              Feature {index}
            </Title>
            <KindBadge kind={detail.kind} testId="feature-kind" />
            {detail.kindData?.kind === 'clt' && (
              <Text c="dimmed" data-testid="clt-feature-layer">
                layer {detail.kindData.layer}, latent {detail.kindData.layerIndex}
              </Text>
            )}
          </Group>
        </div>
        <Group>
          {index > 0 && (
            <Button variant="default" component={Link} to={`${base}${index - 1}`}>
              ← {index - 1}
            </Button>
          )}
          <Button variant="default" component={Link} to={`${base}${index + 1}`}>
            {index + 1} →
          </Button>
          <BookmarkButton detail={detail} onChange={() => void load()} />
        </Group>
      </Group>
      <InterpretationEditor detail={detail} onSaved={(d) => setDetail(d)} />
      <ExplainPanel
        dictionary={name}
        index={index}
        interpretation={detail.interpretation}
        onChanged={() => void load()}
      />
      {!s ? (
        <Alert color="yellow">
          {detail.analysis
            ? 'The analysis did not cover this feature.'
            : 'No analysis of this dictionary yet: analyse it from the dictionary page.'}
        </Alert>
      ) : (
        <>
          <SimpleGrid cols={{ base: 2, md: 4 }}>
            <Stat label="Frequency" value={fmtPct(s.frequency, 4)} />
            <Stat label="Activations" value={fmtInt(s.actCount)} />
            <Stat label="Max activation" value={fmtNum(s.maxActivation, 4)} />
            <Stat label="Mean activation" value={fmtNum(s.meanActivation, 4)} />
          </SimpleGrid>
          {detail.kind === 'sae' ? (
            <SimpleGrid cols={{ base: 1, lg: 3 }}>
              <HistogramCard histogram={s.histogram} />
              <Card withBorder>
                <SimpleGrid cols={2}>
                  <LogitList title="Top logits" entries={s.topLogits} />
                  <LogitList title="Bottom logits" entries={s.bottomLogits} />
                </SimpleGrid>
              </Card>
              <Neighbours neighbours={s.neighbours} base={base} />
            </SimpleGrid>
          ) : (
            <>
              <HistogramCard histogram={s.histogram} />
              {detail.kindData && <FeatureKindView data={detail.kindData} />}
            </>
          )}
          <Samples detail={detail} />
        </>
      )}
      <SteerPanel key={`${name}/${index}`} dictionary={name} index={index} maxActivation={s?.maxActivation} />
    </Stack>
  );
}

function HistogramCard({ histogram }: { histogram: { edges: number[]; counts: number[] } }) {
  return (
    <Card withBorder>
      <Text size="sm" fw={500} mb={4}>
        Activation histogram (non-zero)
      </Text>
      {histogram.counts.length > 0 ? (
        <Histogram edges={histogram.edges} counts={histogram.counts} />
      ) : (
        <Empty>Never fired.</Empty>
      )}
    </Card>
  );
}

function Neighbours({ neighbours, base }: { neighbours: { index: number; cosine: number }[]; base: string }) {
  return (
    <Card withBorder>
      <Text size="sm" fw={500} mb={4}>
        Nearest features (decoder cosine)
      </Text>
      <Table>
        <Table.Tbody>
          {neighbours.slice(0, 8).map((n) => (
            <Table.Tr key={n.index}>
              <Table.Td>
                <Anchor component={Link} to={`${base}${n.index}`}>
                  #{n.index}
                </Anchor>
              </Table.Td>
              <Table.Td ta="right" className="num">
                {n.cosine.toFixed(3)}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="lg" fw={600} className="num">
        {value}
      </Text>
    </Card>
  );
}

function LogitList({
  title,
  entries,
}: {
  title: string;
  entries: readonly { tokenId: number; token: string; logit: number }[];
}) {
  return (
    <div>
      <Text size="sm" fw={500} mb={4}>
        {title}
      </Text>
      <Stack gap={2}>
        {entries.slice(0, 10).map((e) => (
          <Group key={e.tokenId} justify="space-between" gap={4} wrap="nowrap">
            <span className="token-chip" style={{ overflow: 'hidden', textOverflow: 'ellipsis', maxWidth: '9em' }}>
              {tokenLabel(e.token)}
            </span>
            <Text size="xs" className="num">
              {e.logit.toFixed(3)}
            </Text>
          </Group>
        ))}
      </Stack>
    </div>
  );
}

function Samples({ detail }: { detail: FeatureDetail }) {
  const names = detail.samplings.map((s) => s.name);
  // A deep link to a sample (`?sample=<context>`) opens the sampling that holds it and marks it.
  const linked = Number(queryParam(usePath(), 'sample') ?? Number.NaN);
  const holding = detail.samplings.find((s) => s.samples.some((x) => x.contextIndex === linked))?.name;
  const [which, setWhich] = useState(holding ?? names[0] ?? '');
  const [full, setFull] = useState(false);
  const sampling = detail.samplings.find((s) => s.name === which) ?? detail.samplings[0];
  const scale = detail.stats?.maxActivation ?? 0;
  const heads = detail.kindData?.kind === 'crosscoder' ? detail.kindData.heads : [];
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Text size="sm" fw={500}>
          Samples
        </Text>
        <Switch label="Whole windows" checked={full} onChange={(e) => setFull(e.currentTarget.checked)} size="xs" />
      </Group>
      {names.length > 1 && (
        <SegmentedControl
          size="xs"
          mb="sm"
          value={sampling?.name ?? ''}
          onChange={setWhich}
          data={names}
          style={{ flexWrap: 'wrap' }}
        />
      )}
      {!sampling || sampling.samples.length === 0 ? (
        <Empty>No samples stored.</Empty>
      ) : (
        <Stack gap="xs" data-testid="feature-samples">
          {sampling.samples.map((s) => (
            <SampleRow
              key={`${s.contextIndex}-${s.rank}`}
              sample={s}
              scale={scale}
              full={full}
              heads={heads}
              linked={s.contextIndex === linked}
            />
          ))}
        </Stack>
      )}
    </Card>
  );
}

function SampleRow({
  sample,
  scale,
  full,
  heads,
  linked,
}: {
  sample: FeatureSample;
  scale: number;
  full: boolean;
  heads: readonly string[];
  linked: boolean;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (linked) ref.current?.scrollIntoView({ block: 'center' });
  }, [linked]);
  let peak = 0;
  let max = -Infinity;
  for (const [i, a] of sample.activations.entries()) {
    if (a > max) [peak, max] = [i, a];
  }
  const from = full ? 0 : Math.max(0, peak - CONTEXT);
  const to = full ? sample.tokens.length : Math.min(sample.tokens.length, peak + CONTEXT + 1);
  return (
    <div
      className="sample-row"
      ref={ref}
      data-testid={linked ? 'linked-sample' : undefined}
      style={linked ? { outline: '2px solid var(--mantine-color-blue-5)', borderRadius: 4 } : undefined}
    >
      <Group gap={6} mb={2}>
        <Badge size="xs" variant="light" className="num">
          {fmtNum(sample.maxActivation, 3)}
        </Badge>
        <Text size="xs" c="dimmed">
          window {sample.contextIndex}
          {from > 0 || to < sample.tokens.length ? `, tokens ${from}–${to - 1}` : ''}
        </Text>
      </Group>
      <TokenText
        tokens={sample.tokens.slice(from, to)}
        values={sample.activations.slice(from, to)}
        scale={scale}
        focus={peak - from}
      />
      {sample.kindData && <SampleKindView data={sample.kindData} tokens={sample.tokens} heads={heads} />}
    </div>
  );
}

function InterpretationEditor({ detail, onSaved }: { detail: FeatureDetail; onSaved: (d: FeatureDetail) => void }) {
  const client = useStudio();
  const stored = detail.interpretation?.text ?? '';
  // The text being edited, and the stored text it started from: when the stored one changes, editing starts over.
  const [draft, setDraft] = useState({ from: stored, text: stored });
  const text = draft.from === stored ? draft.text : stored;
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const dirty = text !== stored;
  const save = async () => {
    setSaving(true);
    setError(null);
    try {
      const r = await client.setInterpretation({
        dictionary: detail.dictionary,
        index: detail.index,
        text: text.trim() === '' ? null : text,
      });
      onSaved({ ...detail, interpretation: r.interpretation });
      setSaved(true);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setSaving(false);
    }
  };
  return (
    <Card withBorder>
      <Textarea
        label="Interpretation"
        description="What this feature seems to detect; saved in the store (and synced as lm-saes's interpretation)."
        autosize
        minRows={2}
        value={text}
        onChange={(e) => {
          setDraft({ from: stored, text: e.currentTarget.value });
          setSaved(false);
        }}
        error={error}
        data-testid="interpretation"
      />
      <Group mt="xs">
        <Button
          size="xs"
          onClick={() => void save()}
          loading={saving}
          disabled={!dirty}
          data-testid="save-interpretation"
        >
          Save
        </Button>
        {saved && !dirty && (
          <Text size="xs" c="green" data-testid="saved-note">
            Saved
          </Text>
        )}
      </Group>
    </Card>
  );
}

function BookmarkButton({ detail, onChange }: { detail: FeatureDetail; onChange: () => void }) {
  const client = useStudio();
  const [busy, setBusy] = useState(false);
  const marked = detail.bookmark !== null;
  const toggle = async () => {
    setBusy(true);
    try {
      if (marked) await client.removeBookmark({ dictionary: detail.dictionary, index: detail.index });
      else await client.addBookmark({ dictionary: detail.dictionary, index: detail.index });
      onChange();
    } finally {
      setBusy(false);
    }
  };
  return (
    <Button variant={marked ? 'filled' : 'default'} onClick={() => void toggle()} loading={busy} data-testid="bookmark">
      {marked ? '★ Bookmarked' : '☆ Bookmark'}
    </Button>
  );
}
