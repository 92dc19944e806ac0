/**
 * New experiment: a step-by-step form — model, dataset (with a tokenized preview), hook point, dictionary type,
 * hyperparameters, compute backend, review — checked as it is typed by the studio's own config check (the schema the
 * CLI uses), with each problem shown on its field. Launching starts the run and opens its dashboard.
 */
import {
  Alert, Badge, Button, Card, Code, Group, NumberInput, SegmentedControl, Select, SimpleGrid, Stack, Stepper, Switch, Text, TextInput, Title, Tooltip,
} from '@mantine/core';
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { ModelInfo } from '../../../protocol/models';
import type { DatasetPreview } from '../../../protocol/system';
import { errorText, useLoad, useStudio } from '../client/studio';
import { tokenLabel } from '../components/format';
import { ComputeSummary } from './HomePage';
import { navigate } from '../router';
import {
  ACT_FN_OPTIONS, BACKEND_OPTIONS, defaultForm, defaultHook, EMBEDDED_CORPUS, firstStepWithError, issuesToFields, runLength, SPARSITY_OPTIONS, STEPS,
  toTrainConfig, type FieldErrors, type FormField, type WizardForm,
} from '../wizard/wizard-model';

/** How long typing must pause before the config is checked. */
const CHECK_DELAY_MS = 250;

function Help({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Group gap={4} wrap="nowrap">
      <span>{children}</span>
      <Tooltip label={label} multiline w={300} withArrow>
        <Text span c="dimmed" size="xs" style={{ cursor: 'help' }} aria-label={label}>
          ⓘ
        </Text>
      </Tooltip>
    </Group>
  );
}

export function WizardPage() {
  const client = useStudio();
  const [form, setForm] = useState<WizardForm>(defaultForm);
  const [active, setActive] = useState(0);
  const [errors, setErrors] = useState<FieldErrors>({ byField: {}, other: [] });
  const [checked, setChecked] = useState<Record<string, unknown> | null>(null);
  const [folderModel, setFolderModel] = useState<{ path: string; info: ModelInfo | null; error: string | null } | null>(null);
  const [preview, setPreview] = useState<{ dataset: string; result: DatasetPreview | null; error: string | null; loading: boolean } | null>(null);
  const [launching, setLaunching] = useState(false);
  const [launchError, setLaunchError] = useState<string | null>(null);
  const models = useLoad((c) => c.listModels({}), []);
  const system = useLoad((c) => c.systemInfo({}), []);

  const set = <K extends FormField>(key: K, value: WizardForm[K]) => setForm((f) => ({ ...f, [key]: value }));

  const model: ModelInfo | null = useMemo(() => {
    if (form.modelSource === 'bundled') return models.data?.models.find((m) => m.ref === form.model) ?? null;
    return folderModel?.path === form.model ? folderModel.info : null;
  }, [form.model, form.modelSource, models.data, folderModel]);

  // A model brings its hook names: keep the chosen hook when the new model has it, else take a sensible default.
  useEffect(() => {
    if (!model) return;
    setForm((f) => ({
      ...f,
      hookIn: model.hookNames.includes(f.hookIn) ? f.hookIn : defaultHook(model),
      hookOut: f.hookOut === '' || model.hookNames.includes(f.hookOut) ? f.hookOut : '',
    }));
  }, [model]);

  // Checks a model folder as soon as its path settles.
  useEffect(() => {
    if (form.modelSource !== 'folder' || form.model.trim() === '') return;
    const path = form.model;
    const t = setTimeout(() => {
      client.validateModelFolder({ path }).then(
        (r) => setFolderModel({ path, info: r.ok ? r.model : null, error: r.ok ? null : r.issues.map((i) => i.message).join('; ') }),
        (err: unknown) => setFolderModel({ path, info: null, error: errorText(err) }),
      );
    }, CHECK_DELAY_MS);
    return () => clearTimeout(t);
  }, [client, form.model, form.modelSource]);

  // The whole config, checked by the studio after every pause in typing.
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    const config = toTrainConfig(form);
    const t = setTimeout(() => {
      client.validateTrainConfig({ config }).then(
        (r) => {
          if (mine !== seq.current) return;
          setErrors(r.ok ? { byField: {}, other: [] } : issuesToFields(r.issues));
          setChecked(r.ok ? r.config : null);
        },
        (err: unknown) => mine === seq.current && setErrors({ byField: {}, other: [{ field: '', message: errorText(err) }] }),
      );
    }, CHECK_DELAY_MS);
    return () => clearTimeout(t);
  }, [client, form]);

  const runPreview = () => {
    const dataset = form.dataset;
    setPreview({ dataset, result: null, error: null, loading: true });
    client.previewDataset({ dataset, model: form.model, samples: 3 }).then(
      (result) => setPreview((p) => (p?.dataset === dataset ? { dataset, result, error: null, loading: false } : p)),
      (err: unknown) => setPreview((p) => (p?.dataset === dataset ? { dataset, result: null, error: errorText(err), loading: false } : p)),
    );
  };
  useEffect(() => {
    if (STEPS[active]?.key === 'dataset' && form.dataset.trim() !== '' && preview?.dataset !== form.dataset) runPreview();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [active, form.dataset]);

  const modelError =
    form.modelSource === 'folder' && form.model.trim() === ''
      ? 'choose a Hugging Face model folder (config.json, model.safetensors, tokenizer.json)'
      : form.modelSource === 'folder' && folderModel?.path === form.model && folderModel.error
        ? folderModel.error
        : errors.byField.model;
  const previewIssue = preview?.dataset === form.dataset && preview.result && !preview.result.ok ? preview.result.issues.map((i) => i.message).join('; ') : null;
  const datasetError = form.dataset.trim() === '' ? 'choose a dataset: a folder of .txt files, a .jsonl or a .parquet file' : (previewIssue ?? errors.byField.dataset);
  const fieldError = (f: FormField) => (f === 'model' ? modelError : f === 'dataset' ? datasetError : errors.byField[f]);
  const stepHasError = (i: number) => (STEPS[i]!.fields as readonly FormField[]).some((f) => fieldError(f) !== undefined && fieldError(f) !== null);

  const launch = async () => {
    setLaunching(true);
    setLaunchError(null);
    try {
      const { runId } = await client.startTraining({ config: toTrainConfig(form) });
      navigate(`/runs/${encodeURIComponent(runId)}`);
    } catch (err) {
      const e = err as { issues?: { field: string; message: string }[] };
      if (e.issues) {
        const mapped = issuesToFields(e.issues);
        setErrors(mapped);
        const step = firstStepWithError(mapped);
        if (step >= 0) setActive(step);
      }
      setLaunchError(errorText(err));
    } finally {
      setLaunching(false);
    }
  };

  const pick = async (what: 'model' | 'dataset-folder' | 'dataset-file') => {
    const api = window.api;
    if (!api) return;
    const path =
      what === 'dataset-file'
        ? await api.pickFile('Choose a dataset file', [{ name: 'Datasets', extensions: ['jsonl', 'parquet', 'txt'] }])
        : await api.pickFolder(what === 'model' ? 'Choose a Hugging Face model folder' : 'Choose a folder of .txt files');
    if (path) set(what === 'model' ? 'model' : 'dataset', path);
  };

  const hookOptions = model?.hookNames ?? [];
  const isTopK = form.actFn === 'topk' || form.actFn === 'batchtopk';
  const ratio = model && form.dSae !== '' ? form.dSae / model.dModel : null;

  const steps: Record<(typeof STEPS)[number]['key'], ReactNode> = {
    model: (
      <Stack>
        <SegmentedControl
          value={form.modelSource}
          onChange={(v) => setForm((f) => ({ ...f, modelSource: v as WizardForm['modelSource'], model: v === 'bundled' ? (models.data?.models[0]?.ref ?? '') : '' }))}
          data={[
            { value: 'bundled', label: 'Embedded model' },
            { value: 'folder', label: 'Hugging Face folder' },
          ]}
        />
        {form.modelSource === 'bundled' ? (
          <Select
            label="Model"
            data={(models.data?.models ?? []).map((m) => ({ value: m.ref, label: `${m.name} (${m.architecture}, ${m.nLayers} layers, d_model ${m.dModel})` }))}
            value={form.model}
            onChange={(v) => v && set('model', v)}
            error={modelError}
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
              onChange={(e) => set('model', e.currentTarget.value)}
              error={modelError}
              data-testid="model-folder"
            />
            {window.api && (
              <Button mt={48} variant="default" onClick={() => void pick('model')}>
                Browse…
              </Button>
            )}
          </Group>
        )}
        {model && <ModelCard model={model} />}
      </Stack>
    ),
    dataset: (
      <Stack>
        <SegmentedControl
          value={form.datasetSource}
          onChange={(v) => setForm((f) => ({ ...f, datasetSource: v as WizardForm['datasetSource'], dataset: v === 'embedded' ? EMBEDDED_CORPUS : '' }))}
          data={[
            { value: 'embedded', label: 'Embedded corpus' },
            { value: 'path', label: 'Folder, .jsonl or .parquet' },
          ]}
        />
        {form.datasetSource === 'embedded' ? (
          <Text size="sm">
            <Code>{EMBEDDED_CORPUS}</Code>: the corpus pdlm-4l-256 was trained on, with its reference train / validation split.
          </Text>
        ) : (
          <Group align="flex-start" wrap="nowrap">
            <TextInput
              style={{ flex: 1 }}
              label="Dataset"
              description="A folder of .txt files, a .jsonl file (field `text`) or a .parquet file (column `text`)"
              placeholder="/path/to/data.jsonl"
              value={form.dataset}
              onChange={(e) => set('dataset', e.currentTarget.value)}
              error={datasetError}
              data-testid="dataset-path"
            />
            {window.api && (
              <Group mt={48} gap="xs" wrap="nowrap">
                <Button variant="default" onClick={() => void pick('dataset-file')}>
                  File…
                </Button>
                <Button variant="default" onClick={() => void pick('dataset-folder')}>
                  Folder…
                </Button>
              </Group>
            )}
          </Group>
        )}
        {form.datasetSource === 'embedded' && datasetError && (
          <Text c="red" size="sm">
            {datasetError}
          </Text>
        )}
        <Group>
          <Button variant="light" size="xs" onClick={runPreview} disabled={form.dataset.trim() === ''} loading={preview?.loading}>
            Preview tokenized samples
          </Button>
        </Group>
        {preview?.dataset === form.dataset && preview.error && <Alert color="red">{preview.error}</Alert>}
        {preview?.dataset === form.dataset && preview.result?.ok && (
          <Stack gap="xs" data-testid="dataset-preview">
            <Text size="xs" c="dimmed">
              {preview.result.kind}, {preview.result.files} file(s); the first documents, split by the model's tokenizer:
            </Text>
            {preview.result.samples.map((s) => (
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
        )}
      </Stack>
    ),
    hook: (
      <Stack>
        <Select
          label={<Help label="The TransformerLens hook whose activations the dictionary reconstructs (hook_resid_post: the residual stream after a block).">Hook point</Help>}
          searchable
          data={hookOptions}
          value={form.hookIn || null}
          onChange={(v) => v && set('hookIn', v)}
          error={errors.byField.hookIn}
          placeholder={model ? undefined : 'choose a model first'}
          nothingFoundMessage="no such hook in this model"
          data-testid="hook-in"
        />
        <Switch
          label="Transcoder: reconstruct another hook's activations from this one's"
          checked={form.hookOut !== ''}
          onChange={(e) => set('hookOut', e.currentTarget.checked ? transcoderTarget(form.hookIn, hookOptions) : '')}
        />
        {form.hookOut !== '' && (
          <Select label="Output hook point" searchable data={hookOptions} value={form.hookOut} onChange={(v) => v && set('hookOut', v)} error={errors.byField.hookOut} />
        )}
      </Stack>
    ),
    dictionary: (
      <Stack>
        <div>
          <Text size="sm" fw={500} mb={4}>
            Activation function
          </Text>
          <SegmentedControl
            value={form.actFn}
            onChange={(v) => set('actFn', v as WizardForm['actFn'])}
            data={ACT_FN_OPTIONS.map((o) => ({ value: o.value, label: o.label }))}
          />
          <Text size="xs" c="dimmed" mt={4}>
            {ACT_FN_OPTIONS.find((o) => o.value === form.actFn)?.help}
          </Text>
        </div>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <NumberInput
            label={<Help label="Number of latents (features). Expansion factor = d_sae / d_model.">Latents (d_sae)</Help>}
            description={ratio ? `expansion factor ${Number(ratio.toFixed(2))}` : ' '}
            value={form.dSae}
            onChange={(v) => set('dSae', typeof v === 'number' ? v : '')}
            min={1}
            allowDecimal={false}
            thousandSeparator=","
            error={errors.byField.dSae}
            data-testid="d-sae"
          />
          {isTopK ? (
            <NumberInput
              label={<Help label="Active latents per token (the L0 the dictionary is trained for).">k</Help>}
              description=" "
              value={form.topK}
              onChange={(v) => set('topK', typeof v === 'number' ? v : '')}
              min={1}
              allowDecimal={false}
              error={errors.byField.topK}
              data-testid="top-k"
            />
          ) : (
            <NumberInput
              label={<Help label="Weight of the sparsity penalty on activations × decoder norms (inputs are normalised to norm √d_model). Warmed up linearly over the first 10% of steps.">Sparsity coefficient</Help>}
              description=" "
              value={form.l1Coefficient}
              onChange={(v) => set('l1Coefficient', typeof v === 'number' ? v : '')}
              min={0}
              decimalScale={6}
              error={errors.byField.l1Coefficient}
            />
          )}
        </SimpleGrid>
        {!isTopK && (
          <Select
            label="Sparsity penalty"
            data={SPARSITY_OPTIONS.map((o) => ({ value: o.value, label: o.label }))}
            value={form.sparsityLoss}
            onChange={(v) => v && set('sparsityLoss', v as WizardForm['sparsityLoss'])}
            error={errors.byField.sparsityLoss}
            allowDeselect={false}
          />
        )}
      </Stack>
    ),
    training: (
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label={<Help label="The dictionary's name: a folder under the studio home, and its name in the store.">Dictionary name</Help>}
          value={form.name}
          onChange={(e) => set('name', e.currentTarget.value)}
          error={errors.byField.name}
          data-testid="dict-name"
        />
        <NumberInput
          label="Training tokens"
          description={runLength(form) ?? ' '}
          value={form.totalTokens}
          onChange={(v) => set('totalTokens', typeof v === 'number' ? v : '')}
          min={1}
          allowDecimal={false}
          thousandSeparator=","
          error={errors.byField.totalTokens}
          data-testid="total-tokens"
        />
        <NumberInput
          label={<Help label="Tokens per optimiser step.">Batch size (tokens)</Help>}
          value={form.batchSize}
          onChange={(v) => set('batchSize', typeof v === 'number' ? v : '')}
          min={1}
          allowDecimal={false}
          thousandSeparator=","
          error={errors.byField.batchSize}
          data-testid="batch-size"
        />
        <NumberInput
          label={<Help label="Adam's learning rate, with a linear warm-up and a linear decay over the last 20% of steps.">Learning rate</Help>}
          value={form.lr}
          onChange={(v) => set('lr', typeof v === 'number' ? v : '')}
          decimalScale={8}
          step={1e-4}
          error={errors.byField.lr}
          data-testid="lr"
        />
        <NumberInput
          label="Warm-up steps"
          value={form.warmupSteps}
          onChange={(v) => set('warmupSteps', typeof v === 'number' ? v : '')}
          min={0}
          error={errors.byField.warmupSteps}
        />
        <NumberInput
          label={<Help label="After training: windows of held-out text for the evaluation table (explained variance, L0, CE loss recovered). 0 skips it.">Evaluation windows</Help>}
          value={form.evalWindows}
          onChange={(v) => set('evalWindows', typeof v === 'number' ? v : '')}
          min={0}
          allowDecimal={false}
          error={errors.byField.evalWindows}
          data-testid="eval-windows"
        />
        <NumberInput
          label={<Help label="After training: tokens over which every feature's statistics and top examples are collected for the feature browser. 0 skips it.">Feature analysis tokens</Help>}
          value={form.analyzeTokens}
          onChange={(v) => set('analyzeTokens', typeof v === 'number' ? v : '')}
          min={0}
          allowDecimal={false}
          thousandSeparator=","
          error={errors.byField.analyzeTokens}
          data-testid="analyze-tokens"
        />
      </SimpleGrid>
    ),
    compute: (
      <Stack>
        <SegmentedControl value={form.backend} onChange={(v) => set('backend', v as WizardForm['backend'])} data={BACKEND_OPTIONS.map((b) => ({ value: b, label: b }))} />
        <Text size="xs" c="dimmed">
          auto: a hardware WebGPU adapter when there is one, else wasm with the native OpenBLAS and sparse kernels.
        </Text>
        {errors.byField.backend && (
          <Text c="red" size="sm">
            {errors.byField.backend}
          </Text>
        )}
        {system.data && (
          <Card withBorder>
            <ComputeSummary info={system.data} />
          </Card>
        )}
      </Stack>
    ),
    review: (
      <Stack>
        {errors.other.length > 0 && (
          <Alert color="red" title="The config has problems">
            {errors.other.map((i) => (
              <Text key={i.field + i.message} size="sm">
                {i.field ? `${i.field}: ` : ''}
                {i.message}
              </Text>
            ))}
          </Alert>
        )}
        {STEPS.some((_, i) => stepHasError(i)) && (
          <Alert color="red" title="Fix the marked steps first">
            {STEPS.filter((_, i) => stepHasError(i))
              .map((s) => s.label)
              .join(', ')}
          </Alert>
        )}
        <Text size="sm">
          {form.actFn === 'topk' ? 'TopK' : form.actFn} {form.hookOut ? 'transcoder' : 'SAE'} with {form.dSae === '' ? '?' : form.dSae.toLocaleString('en-US')} latents on{' '}
          <Code>{form.hookIn || '?'}</Code> of <Code>{model?.name ?? form.model}</Code>, {runLength(form) ?? '?'}.
        </Text>
        <Text size="xs" c="dimmed">
          The train config (the same file `sae-studio train --config` takes), every default filled in:
        </Text>
        <Code block style={{ maxHeight: 320, overflow: 'auto' }} data-testid="review-config">
          {JSON.stringify(checked ?? toTrainConfig(form), null, 2)}
        </Code>
        {launchError && (
          <Alert color="red" title="Not started">
            {launchError}
          </Alert>
        )}
      </Stack>
    ),
  };

  const last = STEPS.length - 1;
  return (
    <Stack maw={980}>
      <Title order={2}>New experiment</Title>
      <Stepper active={active} onStepClick={setActive} size="sm" wrap>
        {STEPS.map((s, i) => (
          <Stepper.Step key={s.key} label={s.label} color={stepHasError(i) ? 'red' : undefined} data-testid={`step-${s.key}`}>
            <Card withBorder mt="md" padding="lg">
              {steps[s.key]}
            </Card>
          </Stepper.Step>
        ))}
      </Stepper>
      <Group justify="space-between">
        <Button variant="default" onClick={() => setActive((a) => Math.max(0, a - 1))} disabled={active === 0}>
          Back
        </Button>
        {active < last ? (
          <Button onClick={() => setActive((a) => Math.min(last, a + 1))} disabled={stepHasError(active)} data-testid="wizard-next">
            Next
          </Button>
        ) : (
          <Button onClick={() => void launch()} loading={launching} disabled={checked === null || STEPS.some((_, i) => stepHasError(i))} data-testid="wizard-launch">
            Launch training
          </Button>
        )}
      </Group>
    </Stack>
  );
}

/** A transcoder's usual target: the MLP output of the input hook's layer. */
function transcoderTarget(hookIn: string, hooks: readonly string[]): string {
  const layer = /^blocks\.(\d+)\./.exec(hookIn)?.[1];
  const mlpOut = layer === undefined ? undefined : `blocks.${layer}.hook_mlp_out`;
  return mlpOut && hooks.includes(mlpOut) ? mlpOut : (hooks.find((h) => h.endsWith('hook_mlp_out')) ?? hookIn);
}

function ModelCard({ model }: { model: ModelInfo }) {
  return (
    <Card withBorder padding="sm" data-testid="model-card">
      <Group gap="xs">
        <Badge variant="light">{model.architecture}</Badge>
        <Text size="sm">
          {model.nLayers} layers · d_model {model.dModel} · {model.nHeads} heads · vocabulary {model.dVocab.toLocaleString('en-US')} · context {model.nCtx}
        </Text>
      </Group>
    </Card>
  );
}
