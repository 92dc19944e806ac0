// `sae-studio train`: trains a dictionary from a JSON run config (lm-saes field names), with flag overrides,
// progress on stderr, checkpoints, --resume, and a JSON summary on stdout.
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { TrainConfigSchema, type TrainConfig } from '../../protocol/run-config';
import { parseConfig } from '../../core/config/validate';
import { InputError } from '../../core/errors';
import { runDir, studioHome, type StudioHome } from '../../core/home';
import { readRunConfig } from '../../core/sae/trainer';
import { trainKindDictionary } from '../../core/dictionary/train-kind';
import { describeOwner, runLockPath, tryLock, type HeldLock } from '../../core/util/pid-lock';
import { BACKEND_OPTION, requireOption, type Command } from '../command';
import { runTrainingWithProgress } from '../train-progress';
import { recordCliRun, startCliRun } from '../record-run';
import { kindRunOutcome, saeRunOutcome, tee, trainAndEvaluate } from '../train-record';

/** Applies `key=value` overrides (dotted paths; values parsed as JSON when they parse, else kept as strings). */
export function applyOverrides(config: Record<string, unknown>, sets: string[]): Record<string, unknown> {
  const out = structuredClone(config);
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new InputError(`--set '${set}': expected key=value, e.g. --set lr=1e-4 or --set sae.top_k=64`);
    const path = set.slice(0, eq).split('.');
    const raw = set.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    let node = out;
    for (const key of path.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    const leaf = path.at(-1);
    if (leaf === undefined) throw new InputError(`--set '${set}': expected key=value`); // split always gives one key
    node[leaf] = value;
  }
  return out;
}

export function readJsonConfig(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new InputError(`${path}: config file not found`);
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new InputError(`${path}: not a valid JSON config (${(err as Error).message})`);
  }
}

/**
 * Takes the run's lock (a studio on this home or another `train` may be running it), or refuses naming its holder;
 * released when the process ends (an exit without release leaves a lock whose owner is gone, which is taken over).
 */
function lockRun(home: StudioHome, runId: string): HeldLock {
  runDir(home, runId); // one path segment, checked before it names a lock
  const attempt = tryLock(runLockPath(home.root, runId), 'sae-studio train');
  if (!attempt.ok)
    throw new InputError(
      `run '${runId}' is being run by ${describeOwner(attempt.owner)}; wait for it to end or stop it there`,
    );
  return attempt.lock;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a sparse dictionary from a JSON run config; saves it under $SAE_STUDIO_HOME/dictionaries/<name>.',
  usage: 'train --config FILE.json [--set key=value]… [--run-id ID] | train --resume RUN_ID',
  options: {
    config: {
      type: 'string',
      valueName: 'FILE',
      help: 'run config (JSON, lm-saes field names: sae.hook_point_in, sae.act_fn, lr, total_training_tokens…)',
    },
    set: {
      type: 'string',
      multiple: true,
      valueName: 'K=V',
      help: 'override a config field, e.g. --set sae.top_k=64 --set lr=1e-4',
    },
    name: { type: 'string', valueName: 'NAME', help: 'name of the resulting dictionary (overrides the config)' },
    'total-training-tokens': { type: 'string', valueName: 'N', help: 'tokens to train on (overrides the config)' },
    'run-id': {
      type: 'string',
      valueName: 'ID',
      help: 'run folder name under $SAE_STUDIO_HOME/runs (default: name + random suffix)',
    },
    resume: { type: 'string', valueName: 'RUN_ID', help: 'continue a run from its last complete checkpoint' },
    ...BACKEND_OPTION,
  },
  async run(values) {
    const home = studioHome();
    let raw: Record<string, unknown>;
    let runId: string;
    const resume = typeof values.resume === 'string';
    let lock: HeldLock | null = null;
    if (resume) {
      runId = values.resume as string;
      lock = lockRun(home, runId); // before the run's files are read: another process may be writing them
      try {
        raw = readRunConfig(home, runId) as Record<string, unknown>;
      } catch (err) {
        lock.release(); // a run that cannot be read back leaves no lock behind
        throw err;
      }
    } else {
      raw = readJsonConfig(requireOption(this, values, 'config'));
      const sets = (values.set as unknown as string[] | undefined) ?? [];
      if (typeof values.name === 'string') sets.push(`name=${JSON.stringify(values.name)}`);
      if (typeof values['total-training-tokens'] === 'string')
        sets.push(`total_training_tokens=${values['total-training-tokens']}`);
      if (typeof values.backend === 'string') sets.push(`backend=${JSON.stringify(values.backend)}`);
      raw = applyOverrides(raw, sets);
      runId = '';
    }
    let cfg: TrainConfig;
    try {
      cfg = parseConfig(TrainConfigSchema, raw, resume ? `run ${runId}` : String(values.config));
    } catch (err) {
      lock?.release();
      throw err;
    }
    if (!resume)
      runId =
        (values['run-id'] as string | undefined) ??
        `${cfg.name}-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
    lock ??= lockRun(home, runId);
    if (cfg.sae.sae_type !== 'sae') {
      try {
        const rec = startCliRun(home, { id: runId, dictionaryName: cfg.name, config: cfg, resume });
        const r = await recordCliRun(
          rec,
          () =>
            runTrainingWithProgress((onEvent, signal) =>
              trainKindDictionary(cfg, { home, runId, resume, onEvent: tee(rec, onEvent), signal }),
            ),
          (r) => kindRunOutcome(cfg, r),
        );
        process.stdout.write(
          `${JSON.stringify({ run_id: runId, sae_type: cfg.sae.sae_type, dictionary: r.dictionaryDir, steps: r.steps, tokens: r.tokens, seconds: Number(r.seconds.toFixed(1)), cancelled: r.cancelled, evaluation: r.evaluation })}\n`,
        );
      } finally {
        lock.release();
      }
      return;
    }
    let result;
    try {
      const rec = startCliRun(home, { id: runId, dictionaryName: cfg.name, config: cfg, resume });
      result = await recordCliRun(
        rec,
        () => trainAndEvaluate(cfg, home, runId, resume, rec),
        (r) => saeRunOutcome(cfg, r),
      );
    } finally {
      lock.release();
    }
    process.stdout.write(
      `${JSON.stringify({ run_id: runId, dictionary: result.dictionaryDir, steps: result.steps, tokens: result.tokens, seconds: Number(result.seconds.toFixed(1)), cancelled: result.cancelled })}\n`,
    );
  },
};
