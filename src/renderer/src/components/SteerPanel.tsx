/**
 * Steer the model with one feature: the feature's decoder direction added (strength × decoder row) or clamped
 * (its pre-activation set to the strength) at its hook, at the chosen positions, and the continuation shown beside
 * the unsteered one sampled with the same seed, each token coloured by the feature's activation. Mounted on the
 * feature page (with its own prompt box) and in "try text" (the typed text is the prompt).
 */
import {
  Alert,
  Button,
  Card,
  Group,
  NumberInput,
  SegmentedControl,
  SimpleGrid,
  Slider,
  Stack,
  Text,
  TextInput,
  Textarea,
} from '@mantine/core';
import { useState } from 'react';
import type { SteeredText, SteerFeatureResponse, SteerMode, SteerPositions } from '../../../protocol/steering';
import { errorText, useStudio } from '../client/studio';
import { TokenText } from './TokenText';

export interface SteerPanelProps {
  dictionary: string;
  /** The feature to steer with; null shows a hint instead of the controls. */
  index: number | null;
  /** The prompt, when the page supplies it ("try text"); otherwise the panel has its own box. */
  prompt?: string;
  /** The feature's largest activation seen by the analysis: the default strength and the slider's range. */
  maxActivation?: number;
}

type PositionChoice = 'all' | 'prompt' | 'generated' | 'list';

/** "3, 5, 8" → [3, 5, 8]; null when a part is not a non-negative integer. */
export function parsePositionList(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter((p) => p !== '');
  if (parts.length === 0) return null;
  const out = parts.map(Number);
  return out.every((n) => Number.isInteger(n) && n >= 0) ? out : null;
}

const num = (v: string | number, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

interface Settings {
  mode: SteerMode;
  strength: number;
  choice: PositionChoice;
  list: string;
  maxNewTokens: number;
  temperature: number;
  seed: number;
}

export function SteerPanel({ dictionary, index, prompt, maxActivation }: SteerPanelProps) {
  const client = useStudio();
  const scale = maxActivation && maxActivation > 0 ? maxActivation : 10;
  const [ownPrompt, setOwnPrompt] = useState('Once upon a time');
  const [settings, setSettings] = useState<Settings>({
    mode: 'add',
    strength: Number(scale.toPrecision(3)),
    choice: 'all',
    list: '',
    maxNewTokens: 20,
    temperature: 0,
    seed: 0,
  });
  const [result, setResult] = useState<SteerFeatureResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const text = prompt ?? ownPrompt;
  const positions: SteerPositions | null =
    settings.choice === 'list' ? parsePositionList(settings.list) : settings.choice;

  if (index === null)
    return (
      <Text size="sm" c="dimmed" data-testid="steer-hint">
        Pick a feature (a badge above) to steer the model with it.
      </Text>
    );

  const run = async () => {
    if (positions === null) return;
    setRunning(true);
    setError(null);
    try {
      const { mode, strength, maxNewTokens, temperature, seed } = settings;
      setResult(
        await client.steerFeature({
          dictionary,
          index,
          prompt: text,
          mode,
          strength,
          positions,
          maxNewTokens,
          temperature,
          seed,
        }),
      );
    } catch (err) {
      setError(errorText(err));
    } finally {
      setRunning(false);
    }
  };
  return (
    <Card withBorder data-testid="steer-panel">
      <Stack gap="sm">
        <Text fw={500}>Steer with feature {index}</Text>
        <Text size="xs" c="dimmed">
          Add: strength × the feature&apos;s decoder row at its hook. Clamp: move along the decoder row until the
          feature&apos;s encoder reads the strength. The unsteered continuation uses the same seed.
        </Text>
        {prompt === undefined && (
          <Textarea
            label="Prompt"
            autosize
            minRows={2}
            maxRows={6}
            value={ownPrompt}
            onChange={(e) => setOwnPrompt(e.currentTarget.value)}
            data-testid="steer-prompt"
          />
        )}
        <SteerControls settings={settings} onChange={setSettings} scale={scale} />
        <Group>
          <Button
            onClick={() => void run()}
            loading={running}
            disabled={text.trim() === '' || positions === null}
            data-testid="steer-run"
          >
            Steer
          </Button>
        </Group>
        {error && (
          <Alert color="red" data-testid="steer-error">
            {error}
          </Alert>
        )}
        {result && <SteerResult result={result} />}
      </Stack>
    </Card>
  );
}

function SteerControls(props: { settings: Settings; onChange: (s: Settings) => void; scale: number }) {
  const { settings, scale } = props;
  const set = (patch: Partial<Settings>) => props.onChange({ ...settings, ...patch });
  const limit = Math.ceil(scale * 4);
  const badList = settings.choice === 'list' && settings.list !== '' && parsePositionList(settings.list) === null;
  return (
    <>
      <Group align="flex-end" gap="md">
        <SegmentedControl
          value={settings.mode}
          onChange={(v) => set({ mode: v as SteerMode })}
          data={[
            { value: 'add', label: 'Add' },
            { value: 'clamp', label: 'Clamp' },
          ]}
          data-testid="steer-mode"
        />
        <NumberInput
          label="Strength"
          value={settings.strength}
          onChange={(v) => set({ strength: num(v, 0) })}
          step={scale / 10}
          decimalScale={4}
          w={120}
          data-testid="steer-strength"
        />
        <Slider
          value={Math.max(-limit, Math.min(limit, settings.strength))}
          onChange={(v) => set({ strength: v })}
          min={-limit}
          max={limit}
          step={limit / 100}
          label={(v) => v.toFixed(2)}
          style={{ flex: 1, minWidth: 160 }}
          mb={8}
          aria-label="Strength"
        />
      </Group>
      <Group align="flex-end" gap="md">
        <SegmentedControl
          value={settings.choice}
          onChange={(v) => set({ choice: v as PositionChoice })}
          data={[
            { value: 'all', label: 'All positions' },
            { value: 'prompt', label: 'Prompt' },
            { value: 'generated', label: 'Generated' },
            { value: 'list', label: 'List' },
          ]}
          data-testid="steer-positions"
        />
        {settings.choice === 'list' && (
          <TextInput
            label="Positions"
            placeholder="1, 4, 7"
            value={settings.list}
            onChange={(e) => set({ list: e.currentTarget.value })}
            error={badList ? 'whole numbers ≥ 0, separated by commas' : null}
            w={160}
            data-testid="steer-position-list"
          />
        )}
        <NumberInput
          label="Max tokens"
          value={settings.maxNewTokens}
          onChange={(v) => set({ maxNewTokens: num(v, 20) })}
          min={1}
          max={256}
          allowDecimal={false}
          w={100}
          data-testid="steer-max-tokens"
        />
        <NumberInput
          label="Temperature"
          value={settings.temperature}
          onChange={(v) => set({ temperature: num(v, 0) })}
          min={0}
          max={10}
          step={0.1}
          decimalScale={2}
          w={110}
          data-testid="steer-temperature"
        />
        <NumberInput
          label="Seed"
          value={settings.seed}
          onChange={(v) => set({ seed: num(v, 0) })}
          min={0}
          allowDecimal={false}
          w={100}
          data-testid="steer-seed"
        />
      </Group>
    </>
  );
}

function SteerResult({ result }: { result: SteerFeatureResponse }) {
  // One colour scale for both sides, so the two are comparable at a glance.
  const scale = Math.max(0, ...result.unsteered.activations.slice(1), ...result.steered.activations.slice(1));
  const steered = new Set(result.steeredPositions);
  return (
    <Stack gap={4}>
      <Text size="xs" c="dimmed" data-testid="steer-summary">
        {result.model} · at {result.hooks.join(', ')} · {result.steeredPositions.length} steered positions · prompt{' '}
        {result.promptLength} tokens
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Side title="Unsteered" side={result.unsteered} scale={scale} testId="steer-unsteered" />
        <Side title="Steered" side={result.steered} scale={scale} testId="steer-steered" steered={steered} />
      </SimpleGrid>
    </Stack>
  );
}

function Side(props: { title: string; side: SteeredText; scale: number; testId: string; steered?: Set<number> }) {
  const { title, side, scale, testId, steered } = props;
  return (
    <Card withBorder padding="sm" data-testid={testId}>
      <Text size="sm" fw={500} mb={4}>
        {title}
      </Text>
      <TokenText
        tokens={side.tokens}
        values={side.activations.map((a, i) => (i === 0 ? 0 : a))}
        scale={scale}
        describe={(i) =>
          `activation ${(side.activations[i] ?? 0).toFixed(3)}${steered?.has(i) ? ' · steered here' : ''}`
        }
      />
      <Text
        size="sm"
        mt={4}
        data-testid={`${testId}-text`}
        style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}
      >
        {side.text}
      </Text>
    </Card>
  );
}
