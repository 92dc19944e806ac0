/**
 * Checks a train config before any job starts, with the schema `sae-studio train` uses (TrainConfigSchema), then
 * what can be told without loading weights: the model exists, the hooks are among its hook points, the dictionary
 * config is complete, the dataset opens. Every issue names its field as a path into the request (`config.…`).
 */
import { existsSync } from 'node:fs';
import { SaeConfigSchema } from '../protocol/dictionary-config';
import { kindOf } from '../core/dictionary/registry';
import { TrainConfigSchema, type TrainConfig } from '../protocol/run-config';
import { openDataset } from '../core/data/sources/open-dataset';
import { isInputError } from '../core/errors';
import { hookStage } from '../core/lm/hooks';
import { readModelConfig, resolveModel } from '../core/lm/load-model';
import type { ModelConfig } from '../core/lm/model-config';
import type { FieldIssue } from '../protocol/service-error';
import { oneLine } from '../protocol/service-dispatch';
import { fieldIssues, joinPath } from '../protocol/zod-issues';

export type TrainConfigCheckResult = { ok: true; config: TrainConfig } | { ok: false; issues: FieldIssue[] };

export function checkTrainConfig(raw: unknown, prefix = 'config'): TrainConfigCheckResult {
  const parsed = TrainConfigSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: fieldIssues(parsed.error, prefix) };
  const cfg = parsed.data;
  const at = (field: string) => joinPath(prefix, field);
  const issues: FieldIssue[] = [];
  const inputIssue = (field: string, check: () => void) => {
    try {
      check();
    } catch (err) {
      if (!isInputError(err)) throw err;
      issues.push({ field: at(field), message: oneLine(err) });
    }
  };

  let modelCfg: ModelConfig | null = null;
  inputIssue('model', () => (modelCfg = readModelConfig(resolveModel(cfg.model).dir)));
  if (modelCfg) {
    const m: ModelConfig = modelCfg;
    if (cfg.context_size !== null && cfg.context_size > m.nCtx)
      issues.push({
        field: at('context_size'),
        message: `is ${cfg.context_size}, beyond the model's context of ${m.nCtx}`,
      });
    if (cfg.sae.sae_type !== 'sae') {
      // The other kinds: their own schema, then every hook they read or write.
      const kind = kindOf(cfg.sae.sae_type);
      const parsed = kind.schema.safeParse({ model_name: cfg.model, ...cfg.sae, d_model: m.dModel });
      if (!parsed.success) issues.push(...fieldIssues(parsed.error, at('sae')));
      else {
        for (const h of new Set([...kind.hooksIn(parsed.data), ...kind.hooksOut(parsed.data)]))
          inputIssue('sae', () => hookStage(m, h));
        if (kind.fitsModel) fitIssue(() => kind.fitsModel!(parsed.data, m), at('sae'), issues);
        // A sequence kind (Lorsa) trains on whole windows of context_size positions (the model's context if unset).
        const nCtx = (parsed.data as { n_ctx?: unknown }).n_ctx;
        const S = cfg.context_size ?? m.nCtx;
        if (kind.needsSequences && typeof nCtx === 'number' && nCtx < S)
          issues.push({
            field: at('sae.n_ctx'),
            message: `must be at least the training windows' ${S} positions (context_size ${cfg.context_size ?? `not set: the model's ${m.nCtx}`})`,
          });
      }
    } else {
      inputIssue('sae.hook_point_in', () => hookStage(m, cfg.sae.hook_point_in!));
      if (cfg.sae.hook_point_out !== undefined)
        inputIssue('sae.hook_point_out', () => hookStage(m, cfg.sae.hook_point_out!));
      if (cfg.sae.d_model !== undefined && cfg.sae.d_model !== m.dModel) {
        issues.push({
          field: at('sae.d_model'),
          message: `is ${cfg.sae.d_model}, but the model has d_model ${m.dModel}`,
        });
      }
      const sae = SaeConfigSchema.safeParse({ model_name: cfg.model, ...cfg.sae, d_model: m.dModel });
      if (!sae.success) issues.push(...fieldIssues(sae.error, at('sae')));
    }
  }
  if (cfg.activation_cache !== null) {
    if (!existsSync(cfg.activation_cache))
      issues.push({ field: at('activation_cache'), message: `${cfg.activation_cache}: no such folder` });
  } else {
    inputIssue('dataset', () => openDataset(cfg.dataset));
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config: cfg };
}

/**
 * Whether the dictionary fits the model beyond its hooks (a Lorsa's rotary setup, its n_ctx), as an issue on the
 * field the kind's check names (its messages read "Lorsa config: field 'rotary_dim': must equal …").
 */
function fitIssue(check: () => void, sae: string, issues: FieldIssue[]): void {
  try {
    check();
  } catch (err) {
    if (!isInputError(err)) throw err;
    const text = oneLine(err);
    const m = /field '([A-Za-z_]+)': (.*)$/.exec(text);
    issues.push(m ? { field: joinPath(sae, m[1]!), message: m[2]! } : { field: sae, message: text });
  }
}
