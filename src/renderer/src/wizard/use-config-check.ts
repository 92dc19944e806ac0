// The studio's check of the wizard's whole train config (the schema and the model / hook / dataset checks the CLI
// runs), after every pause in typing; the answer for the latest config wins.
import { useEffect, useState } from 'react';
import type { TrainConfig, TrainConfigDraft } from '../../../protocol/run-config';
import { errorText, useStudio } from '../client/studio';
import { issuesToFields, NO_FIELD_ERRORS, type FieldErrors } from './field-issues';
import { CHECK_DELAY_MS, type WizardForm } from './wizard-model';

export interface ConfigCheck {
  errors: FieldErrors;
  /** The config with every default filled in, once the check has accepted it (null before, or while it fails). */
  checked: TrainConfig | null;
  /** Shows issues found elsewhere (the launch's own check) until the next check answers. */
  report: (errors: FieldErrors) => void;
}

/** `config` must keep its identity while it does not change (memoise it): each new one is checked again. */
export function useConfigCheck(config: TrainConfigDraft, kind: WizardForm['saeType']): ConfigCheck {
  const client = useStudio();
  const [state, setState] = useState<{ errors: FieldErrors; checked: TrainConfig | null }>({
    errors: NO_FIELD_ERRORS,
    checked: null,
  });
  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      client.validateTrainConfig({ config }).then(
        (r) =>
          live &&
          setState(
            r.ok
              ? { errors: NO_FIELD_ERRORS, checked: r.config }
              : { errors: issuesToFields(r.issues, kind), checked: null },
          ),
        (err: unknown) =>
          live && setState((s) => ({ ...s, errors: { byField: {}, other: [{ field: '', message: errorText(err) }] } })),
      );
    }, CHECK_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [client, config, kind]);
  const report = (errors: FieldErrors) => setState((s) => ({ ...s, errors }));
  return { ...state, report };
}
