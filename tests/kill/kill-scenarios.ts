// The commands the kill suite kills: `train` of every dictionary kind (tiny runs on pdlm-4l-256 that take about a
// second, a checkpoint after every step), `generate` (an activation cache of 32 chunks) and `analyze` (replacing an
// earlier analysis of the same name, saved in 4 chunks) — each with how it is resumed, where its output is, and the
// test-only kill points pinned inside its saves.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallTextDataset, TINY_KIND_SAES } from '../helpers/train-fixtures';
import { checkStore, dirDigest, runCli, type CliRun } from './kill-harness';

export interface Scenario {
  name: string;
  /** A fresh studio home for one trial (a copy of the scenario's prepared home). */
  newHome(): string;
  /** The command that is killed (and, run whole in another home, the reference). */
  command(home: string): string[];
  /** Completes the killed work the way the CLI says to; returns every command run, the last one the one that ended. */
  resume(home: string): Promise<{ runs: CliRun[]; how: string }>;
  /** Digest of the finished output: the dictionary files, the cache's files, or the store's analysis rows. */
  digest(home: string): string | null;
  /** Kill points (SAE_STUDIO_TEST_KILL_AT values) inside this command's saves. */
  points: string[];
  /**
   * The visible parts of a killed, not yet resumed output that differ from the reference home's: a resumable output
   * (the cache) is judged part by part; the others are whole or absent (`digest`), and have no such check.
   */
  partsDiffering?(home: string, referenceHome: string): string[];
}

const KINDS: Record<string, Record<string, unknown>> = {
  sae: { hook_point_in: 'blocks.1.hook_resid_post', d_sae: 64, act_fn: 'topk', top_k: 4 },
  ...TINY_KIND_SAES,
};

/** Every trained kind (sae first); the suite's kinds. */
export const TRAIN_KINDS = Object.keys(KINDS);

function trainConfig(dataset: string, name: string, sae: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    model: 'pdlm-4l-256',
    dataset,
    dataset_split: 'all',
    context_size: 16,
    batch_size: 240,
    total_training_tokens: 240 * 8,
    norm_estimation_tokens: 1000,
    shuffle_windows: 32,
    lr: 3e-3,
    lr_warm_up_steps: 1,
    lr_cool_down_steps: 2,
    log_frequency: 1,
    checkpoint_every_tokens: 240,
    backend: 'wasm',
    sae,
  };
}

function emptyHome(): string {
  return mkdtempSync(join(tmpdir(), 'sae-studio-kill-'));
}

async function mustSucceed(run: CliRun, what: string): Promise<CliRun> {
  if (run.status !== 0) throw new Error(`${what} exited ${run.status ?? run.signal}: ${run.stderr.slice(-600)}`);
  return run;
}

export function trainScenario(dataset: string, kind: string): Scenario {
  const name = `kill-${kind}`;
  const file = join(mkdtempSync(join(tmpdir(), 'sae-studio-kill-cfg-')), `${kind}.json`);
  writeFileSync(file, JSON.stringify(trainConfig(dataset, name, KINDS[kind]!)));
  const command = ['train', '--config', file, '--run-id', 'k'];
  return {
    name: `train ${kind}`,
    newHome: emptyHome,
    command: () => command,
    async resume(home) {
      const resumed = await runCli(['train', '--resume', 'k'], home);
      // Killed before its run folder held a config, the run does not exist: the CLI says so, and it is started again.
      if (resumed.status === 2 && /train-config\.json: no such run/.test(resumed.stderr)) {
        return { runs: [resumed, await mustSucceed(await runCli(command, home), 'train again')], how: 'restarted' };
      }
      return { runs: [resumed], how: 'resumed' };
    },
    digest: (home) => dirDigest(join(home, 'dictionaries', name)),
    points: [
      'checkpoint:before-rename@1',
      'checkpoint:before-rename@3',
      'safetensors:before-rename@2',
      'atomic-file:before-rename@2',
      'dictionary-save:before-commit',
    ],
  };
}

export function generateScenario(dataset: string): Scenario {
  const command = (home: string) => [
    'generate',
    '--model',
    'pdlm-4l-256',
    '--dataset',
    dataset,
    '--split',
    'all',
    '--hooks',
    'blocks.1.hook_resid_post,blocks.2.hook_resid_post',
    '--out',
    join(home, 'activations', 'kill-cache'),
    '--context-size',
    '32',
    '--chunk-size',
    '8',
    '--max-windows',
    '256',
    '--backend',
    'wasm',
  ];
  return {
    name: 'generate',
    newHome: emptyHome,
    command,
    async resume(home) {
      return { runs: [await runCli(command(home), home)], how: 'rerun' };
    },
    digest: (home) => dirDigest(join(home, 'activations', 'kill-cache')),
    partsDiffering(home, referenceHome) {
      // A chunk counts as written once its meta file is there: its tensors must then be the reference's, byte for byte.
      const differing: string[] = [];
      for (const hook of ['blocks.1.hook_resid_post', 'blocks.2.hook_resid_post']) {
        const dir = join(home, 'activations', 'kill-cache', hook);
        if (!existsSync(dir)) continue;
        for (const meta of readdirSync(dir).filter((f) => f.endsWith('.meta.json'))) {
          const tensors = meta.replace('.meta.json', '.safetensors');
          const ref = join(referenceHome, 'activations', 'kill-cache', hook, tensors);
          const mine = join(dir, tensors);
          if (!existsSync(mine) || !readFileSync(mine).equals(readFileSync(ref))) differing.push(join(hook, tensors));
        }
      }
      return differing;
    },
    points: ['safetensors:before-rename@5', 'atomic-file:before-rename@1', 'atomic-file:before-rename@3'],
  };
}

/**
 * `analyze` of a 512-latent SAE (4 chunks of the store's save) over 3,000 tokens, replacing the 'default' analysis an
 * earlier 1,000-token analyze left: the killed store must show the old analysis whole or the new one whole.
 */
export async function analyzeScenario(dataset: string): Promise<Scenario & { previous: string }> {
  const template = emptyHome();
  const file = join(template, 'sae.json');
  writeFileSync(file, JSON.stringify({ ...trainConfig(dataset, 'kill-analyze', { ...KINDS.sae, d_sae: 512 }) }));
  await mustSucceed(await runCli(['train', '--config', file, '--run-id', 't'], template), 'train the analysed SAE');
  const analyze = (tokens: number) =>
    [
      'analyze',
      '--dictionary',
      'kill-analyze',
      '--dataset',
      dataset,
      '--split',
      'all',
      '--tokens',
      String(tokens),
    ].concat(['--backend', 'wasm']);
  await mustSucceed(await runCli(analyze(1000), template), 'the earlier analysis');
  const previous = checkStore(template, 'kill-analyze')!.analysis!;
  const command = analyze(3000);
  return {
    name: 'analyze',
    previous,
    newHome() {
      const home = emptyHome();
      cpSync(template, home, { recursive: true });
      return home;
    },
    command: () => command,
    async resume(home) {
      return { runs: [await runCli(command, home)], how: 'rerun' };
    },
    digest: (home) => checkStore(home, 'kill-analyze')?.analysis ?? null,
    points: ['analysis-save:chunk@2', 'analysis-save:published', 'analysis-save:chunk@4'],
  };
}

/** The dataset every scenario reads (≈ 60 kB of Emma). */
export function killDataset(): string {
  return smallTextDataset();
}
