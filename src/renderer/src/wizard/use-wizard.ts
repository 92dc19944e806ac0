// The wizard's state in one hook: the form (with the chosen model's hooks applied), the model it names, the
// studio's checks (model folder, dataset preview, the whole config), the errors each field shows, and launching.
import { useMemo, useState } from 'react';
import type { ModelInfo } from '../../../protocol/models';
import type { TrainConfigDraft } from '../../../protocol/run-config';
import { ServiceError } from '../../../protocol/service-error';
import { errorText, useLoad, useStudio } from '../client/studio';
import { navigate } from '../router';
import { useConfigCheck } from './use-config-check';
import { useDatasetPreview } from './use-dataset-preview';
import { useFolderModel } from './use-folder-model';
import { issuesToFields, type FieldErrors } from './field-issues';
import {
  chooseKind,
  defaultForm,
  firstStepWithError,
  shownFieldErrors,
  STEPS,
  stepHasError,
  toTrainConfig,
  withModelHooks,
  type FormField,
  type WizardForm,
} from './wizard-model';

export type PickWhat = 'model' | 'dataset-folder' | 'dataset-file';

export function useWizard() {
  const [stored, setStored] = useState<WizardForm>(defaultForm);
  const [active, setActive] = useState(0);
  const models = useLoad((c) => c.listModels({}), []);
  const folder = useFolderModel(stored.model, stored.modelSource === 'folder');
  const bundled = models.data?.models;
  const model: ModelInfo | null = useMemo(
    () =>
      stored.modelSource === 'bundled'
        ? (bundled?.find((m) => m.ref === stored.model) ?? null)
        : (folder?.info ?? null),
    [stored.modelSource, stored.model, bundled, folder],
  );
  const form = useMemo(() => withModelHooks(stored, model), [stored, model]);
  const config = useMemo(() => toTrainConfig(form), [form]);
  const check = useConfigCheck(config, form.saeType);
  const preview = useDatasetPreview(form.dataset, form.model, STEPS[active]?.key === 'dataset');
  const previewIssue =
    preview.result && !preview.result.ok ? preview.result.issues.map((i) => i.message).join('; ') : null;
  const shown = shownFieldErrors(form, check.errors, { folderError: folder?.error ?? null, previewIssue });
  const launcher = useLaunch(check.report, setActive, form.saeType);

  const set = <K extends FormField>(key: K, value: WizardForm[K]) => setStored((f) => ({ ...f, [key]: value }));
  const update = (patch: Partial<WizardForm>) => setStored((f) => ({ ...f, ...patch }));
  const chooseKindNow = (kind: WizardForm['saeType']) => setStored((f) => chooseKind(f, kind, model));
  const pick = async (what: PickWhat) => {
    const api = window.api;
    if (!api) return;
    const path =
      what === 'dataset-file'
        ? await api.pickFile('Choose a dataset file', [{ name: 'Datasets', extensions: ['jsonl', 'parquet', 'txt'] }])
        : await api.pickFolder(
            what === 'model' ? 'Choose a Hugging Face model folder' : 'Choose a folder of .txt files',
          );
    if (path) set(what === 'model' ? 'model' : 'dataset', path);
  };

  return {
    form,
    set,
    update,
    chooseKind: chooseKindNow,
    pick,
    models: bundled ?? [],
    model,
    hookOptions: model?.hookNames ?? [],
    preview,
    shown,
    errors: check.errors,
    checked: check.checked,
    active,
    setActive,
    stepHasError: (i: number) => stepHasError(shown, i),
    anyStepHasError: STEPS.some((_, i) => stepHasError(shown, i)),
    launch: () => launcher.launch(config),
    launching: launcher.launching,
    launchError: launcher.error,
  };
}

export type Wizard = ReturnType<typeof useWizard>;

/** Starts the run and opens its dashboard; a refusal shows its issues on their fields and opens the first such step. */
function useLaunch(
  report: (errors: FieldErrors) => void,
  openStep: (step: number) => void,
  kind: WizardForm['saeType'],
) {
  const client = useStudio();
  const [launching, setLaunching] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const launch = async (config: TrainConfigDraft) => {
    setLaunching(true);
    setError(null);
    try {
      const { runId } = await client.startTraining({ config });
      navigate(`/runs/${encodeURIComponent(runId)}`);
    } catch (err) {
      if (err instanceof ServiceError && err.issues) {
        const mapped = issuesToFields(err.issues, kind);
        report(mapped);
        const step = firstStepWithError(mapped);
        if (step >= 0) openStep(step);
      }
      setError(errorText(err));
    } finally {
      setLaunching(false);
    }
  };
  return { launch, launching, error };
}
