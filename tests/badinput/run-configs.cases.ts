// Bad run configs given to `train --config` (and its --set / --name / --run-id / --resume): one field at a time
// made wrong. Each case names the field path (or the file, run id or value) at fault; nothing may reach runs/,
// dictionaries/ or the store.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BadInputCase, CaseDir } from '../helpers/bad-input';

type Json = Record<string, unknown>;

/** A tiny valid config: a TopK SAE on pdlm-4l-256's layer 0 over the embedded corpus. */
const base = (): Json => ({
  name: 'bad-input',
  model: 'pdlm-4l-256',
  dataset: 'pdlm-corpus',
  sae: { hook_point_in: 'blocks.0.hook_resid_post', d_sae: 64, act_fn: 'topk', top_k: 4 },
  batch_size: 256,
  total_training_tokens: 1024,
  context_size: 32,
  norm_estimation_tokens: 256,
});
const train = (c: CaseDir, extra: string[] = []): string[] => ['train', '--config', c.at('train.json'), ...extra];

/** A case whose config is the base one after `edit` (of the config and its `sae` part). */
const config = (name: string, edit: (cfg: Json, sae: Json) => void, culprit: RegExp, extra: string[] = []) => ({
  name,
  setup: (c: CaseDir) => {
    const cfg = base();
    edit(cfg, cfg.sae as Json);
    writeFileSync(c.at('train.json'), JSON.stringify(cfg));
  },
  args: (c: CaseDir) => train(c, extra),
  culprit,
});
/** A case with the valid base config and bad flags. */
const flags = (name: string, extra: string[], culprit: RegExp): BadInputCase => config(name, () => {}, culprit, extra);
const fieldIs = (path: string) => new RegExp(`field '${path.replace(/[.[\]]/g, '\\$&')}'`);
/** A field of `sae`: named as its path, or (the schema's nested message) as `field sae: field '<name>'`. */
const saeField = (name: string) => new RegExp(`field 'sae\\.${name}'|field sae: field '${name}'`);

export const RUN_CONFIG_CASES: BadInputCase[] = [
  {
    name: 'a config file that does not exist',
    args: (c) => train(c),
    culprit: /train\.json: config file not found/,
  },
  {
    name: 'a config that is not JSON',
    setup: (c) => writeFileSync(c.at('train.json'), '{"name": "x",'),
    args: (c) => train(c),
    culprit: /train\.json: not a valid JSON config/,
  },
  {
    name: 'a config that is an array',
    setup: (c) => writeFileSync(c.at('train.json'), '[]'),
    args: (c) => train(c),
    culprit: /train\.json: not a valid JSON config \(expected a JSON object\)/,
  },
  config('an unknown field', (c) => (c.learning_rate = 1e-3), /learning_rate/),
  config('an unknown field of sae', (_, s) => (s.topk = 3), /sae.*topk|topk.*sae/),
  config("a name '.'", (c) => (c.name = '.'), fieldIs('name')),
  config("a name '..'", (c) => (c.name = '..'), fieldIs('name')),
  config("a name 'a/b'", (c) => (c.name = 'a/b'), fieldIs('name')),
  config('an empty name', (c) => (c.name = ''), fieldIs('name')),
  config('a name that is a number', (c) => (c.name = 7), fieldIs('name')),
  flags("a --run-id '../x'", ['--run-id', '../x'], /run id '\.\.\/x' is not one folder name/),
  flags("a --run-id 'a/b'", ['--run-id', 'a/b'], /run id 'a\/b' is not one folder name/),
  flags("a --name '..'", ['--name', '..'], /'\.\.'|name/),
  config('no sae part', (c) => delete c.sae, fieldIs('sae')),
  config(
    'a hook the model does not have',
    (_, s) => (s.hook_point_in = 'blocks.9.hook_resid_post'),
    /blocks\.9\.hook_resid_post/,
  ),
  config('a misspelt hook', (_, s) => (s.hook_point_in = 'blocks.0.hook_resid_pots'), /blocks\.0\.hook_resid_pots/),
  config('an unknown sae_type', (_, s) => (s.sae_type = 'megacoder'), /sae\.sae_type|megacoder/),
  config(
    'an expansion_factor giving 0 latents',
    (_, s) => (delete s.d_sae, (s.expansion_factor = 0.001)),
    /expansion_factor|d_sae/,
  ),
  config('d_sae 0', (_, s) => (s.d_sae = 0), saeField('d_sae')),
  config('d_sae negative', (_, s) => (s.d_sae = -5), saeField('d_sae')),
  config('d_sae as a string', (_, s) => (s.d_sae = '64'), saeField('d_sae')),
  config('top_k larger than d_sae', (_, s) => (s.top_k = 65), /top_k/),
  config('an unknown act_fn', (_, s) => (s.act_fn = 'gelu'), saeField('act_fn')),
  config('a negative lr', (c) => (c.lr = -1e-3), fieldIs('lr')),
  config('lr as a string', (c) => (c.lr = 'fast'), fieldIs('lr')),
  config('batch_size 1e9', (c) => ((c.batch_size = 1e9), (c.total_training_tokens = 2e9)), fieldIs('batch_size')),
  config('batch_size above total_training_tokens', (c) => (c.batch_size = 2048), fieldIs('batch_size')),
  config('total_training_tokens 0', (c) => (c.total_training_tokens = 0), fieldIs('total_training_tokens')),
  config('no total_training_tokens', (c) => delete c.total_training_tokens, fieldIs('total_training_tokens')),
  config('betas of one number', (c) => (c.betas = [0.9]), fieldIs('betas')),
  config('a beta of 1.2', (c) => (c.betas = [1.2, 0.9]), /betas/),
  config('an unknown lr scheduler', (c) => (c.lr_scheduler_name = 'cosine9'), fieldIs('lr_scheduler_name')),
  config('a model that does not exist', (c) => (c.model = 'nowhere-model'), /nowhere-model/),
  config('a dataset that does not exist', (c) => (c.dataset = '/nowhere/data.jsonl'), /\/nowhere\/data\.jsonl/),
  config("a context_size beyond the model's", (c) => (c.context_size = 10_000), /context_size|10000/),
  config('a negative ignored token id', (c) => (c.ignore_token_ids = [-1]), /ignore_token_ids/),
  config('a fractional seed', (c) => (c.seed = 1.5), fieldIs('seed')),
  config('an unknown backend', (c) => (c.backend = 'cuda'), fieldIs('backend')),
  config(
    'a crosscoder given one input hook',
    (c) =>
      (c.sae = {
        sae_type: 'crosscoder',
        hook_point_in: 'blocks.0.hook_resid_post',
        d_sae: 64,
        act_fn: 'topk',
        top_k: 4,
      }),
    /hook_point/,
  ),
  config(
    'a CLT with fewer output hooks than input hooks',
    (c) =>
      (c.sae = {
        sae_type: 'clt',
        hook_points_in: ['blocks.0.ln2.hook_normalized', 'blocks.1.ln2.hook_normalized'],
        hook_points_out: ['blocks.0.hook_mlp_out'],
        d_sae: 16,
        act_fn: 'topk',
        top_k: 2,
      }),
    /hook_points_(in|out)/,
  ),
  flags('a --set without =', ['--set', 'lr'], /--set 'lr'|--set.*key=value/),
  flags('a --set of a field that does not exist', ['--set', 'sae.warp=2'], /warp/),
  flags('a --set of lr to a word', ['--set', 'lr=fast'], /lr/),
  flags(
    'a --total-training-tokens that is not a number',
    ['--total-training-tokens', 'many'],
    /--total-training-tokens|many/,
  ),
  {
    name: 'a --resume of a run that does not exist',
    args: () => ['train', '--resume', 'no-such-run'],
    culprit: /no-such-run/,
  },
  {
    name: 'a --resume of a run whose train-config.json is corrupt',
    setup: (c) => {
      mkdirSync(join(c.home, 'runs', 'broken'));
      writeFileSync(join(c.home, 'runs', 'broken', 'train-config.json'), '{"name": "x", ');
    },
    args: () => ['train', '--resume', 'broken'],
    culprit: /broken\/train-config\.json: not valid JSON \(.*\); the run's config cannot be read back/,
  },
  {
    name: "a --resume of '..'",
    args: () => ['train', '--resume', '..'],
    culprit: /run id '\.\.' is not one folder name/,
  },
];
