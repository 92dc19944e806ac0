// Bad model folders given to `lm forward`: a copy of the small gpt2 (or llama) fixture with config.json or the
// weights edited. Each case names config.json's field, the weight, or the file at fault.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BadInputCase, CaseDir } from '../helpers/bad-input';
import { archFixture } from '../helpers/fixtures';
import { editSafetensors, f32, gpt2Copy, put } from './inputs';

/** Every case's ids file (written by its setup, see the export below). */
const forward = (c: CaseDir, model: string): string[] => [
  'lm',
  'forward',
  '--model',
  model,
  '--ids',
  c.at('ids.json'),
  '--out',
  c.at('out.safetensors'),
];
/** A case on a gpt2 copy whose config.json is edited by `edit`. */
const config = (name: string, edit: (cfg: Record<string, unknown>) => void, culprit: RegExp): BadInputCase => ({
  name,
  setup: (c) => void gpt2Copy(c, edit),
  args: (c) => forward(c, c.at('gpt2')),
  culprit,
});
/** A case on a gpt2 copy whose weights are edited by `edit`. */
const weights = (
  name: string,
  edit: (t: Map<string, { dtype: string; shape: number[]; data: Buffer }>) => void,
  culprit: RegExp,
): BadInputCase => ({
  name,
  setup: (c) => editSafetensors(join(gpt2Copy(c), 'model.safetensors'), edit),
  args: (c) => forward(c, c.at('gpt2')),
  culprit,
});
/** A case on a llama copy whose config.json is edited by `edit`. */
const llama = (name: string, edit: (cfg: Record<string, unknown>) => void, culprit: RegExp): BadInputCase => ({
  name,
  setup: (c) => {
    const dir = c.at('llama');
    mkdirSync(dir);
    copyFileSync(join(archFixture('llama'), 'model.safetensors'), join(dir, 'model.safetensors'));
    const cfg = JSON.parse(readFileSync(join(archFixture('llama'), 'config.json'), 'utf8')) as Record<string, unknown>;
    edit(cfg);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  },
  args: (c) => forward(c, c.at('llama')),
  culprit,
});
const CFG = /gpt2\/config\.json: /.source;
const field = (f: string, rest = '') => new RegExp(`${CFG}field '${f}'${rest}`);

const CASES: BadInputCase[] = [
  {
    name: 'a folder that does not exist',
    args: (c) => forward(c, c.at('nowhere')),
    culprit: /model '.*nowhere' not found: expected a model folder or one of the bundled models/,
  },
  {
    name: 'an unknown bundled model name',
    args: (c) => forward(c, 'gpt-17'),
    culprit: /model 'gpt-17' not found/,
  },
  {
    name: 'a file instead of a folder',
    setup: (c) => void put(c, 'model.bin', 'x'),
    args: (c) => forward(c, c.at('model.bin')),
    culprit: /model\.bin: is a file, expected a model folder/,
  },
  {
    name: 'a folder without config.json',
    setup: (c) => rmSync(join(gpt2Copy(c), 'config.json')),
    args: (c) => forward(c, c.at('gpt2')),
    culprit: /gpt2: no config\.json/,
  },
  {
    name: 'config.json that is not JSON',
    setup: (c) => writeFileSync(join(gpt2Copy(c), 'config.json'), '{"model_type": "gpt2",'),
    args: (c) => forward(c, c.at('gpt2')),
    culprit: new RegExp(`${CFG}not valid JSON`),
  },
  {
    name: 'config.json that is an array',
    setup: (c) => writeFileSync(join(gpt2Copy(c), 'config.json'), '[]'),
    args: (c) => forward(c, c.at('gpt2')),
    culprit: new RegExp(`${CFG}expected a JSON object`),
  },
  {
    name: 'config.json that is a folder',
    setup: (c) => {
      const dir = gpt2Copy(c);
      rmSync(join(dir, 'config.json'));
      mkdirSync(join(dir, 'config.json'));
    },
    args: (c) => forward(c, c.at('gpt2')),
    culprit: /gpt2\/config\.json: .*(folder|directory)/,
  },
  config('no model_type', (c) => delete c.model_type, field('model_type', ' is missing')),
  config(
    'an unknown architecture',
    (c) => (c.model_type = 'rwkv'),
    new RegExp(`${CFG}model_type 'rwkv' is not supported`),
  ),
  config('a model_type that is a number', (c) => (c.model_type = 7), new RegExp(`${CFG}.*model_type.*7`)),
  config('n_embd as a string', (c) => (c.n_embd = '64'), field('n_embd', ' is "64", expected')),
  config('n_embd missing', (c) => delete c.n_embd, field('n_embd')),
  config('n_head zero', (c) => (c.n_head = 0), new RegExp(`${CFG}.*n_head.*0`)),
  config(
    'n_head not dividing n_embd',
    (c) => (c.n_head = 3),
    new RegExp(`${CFG}.*n_head.*3.*64|${CFG}.*64.*n_head.*3`),
  ),
  config('n_layer negative', (c) => (c.n_layer = -1), new RegExp(`${CFG}.*n_layer.*-1`)),
  config('n_layer a fraction', (c) => (c.n_layer = 1.5), new RegExp(`${CFG}.*n_layer.*1\\.5`)),
  config('n_positions zero', (c) => (c.n_positions = 0), new RegExp(`${CFG}.*n_positions.*0`)),
  config(
    'vocab_size unequal to the embedding',
    (c) => (c.vocab_size = 1000),
    /transformer\.wte\.weight' has shape \[512, 64\], expected \[1000, 64\] from config\.json/,
  ),
  config(
    'n_embd unequal to the weights',
    (c) => ((c.n_embd = 32), (c.n_head = 2)),
    /weight 'transformer\.wte\.weight' has shape \[512, 64\], expected \[512, 32\]/,
  ),
  config(
    'more layers than the weights hold',
    (c) => (c.n_layer = 3),
    /weight 'transformer\.h\.2\.[a-z_.]+' is missing/,
  ),
  config(
    'an unknown activation function',
    (c) => (c.activation_function = 'swish2'),
    field('activation_function', ' is "swish2", expected one of'),
  ),
  config(
    'a negative layer_norm_epsilon',
    (c) => (c.layer_norm_epsilon = -1),
    field('layer_norm_epsilon', ' is -1, expected a number greater than 0'),
  ),
  config(
    'layer_norm_epsilon as a string',
    (c) => (c.layer_norm_epsilon = 'tiny'),
    field('layer_norm_epsilon', ' is "tiny"'),
  ),
  {
    name: 'no weights file',
    setup: (c) => rmSync(join(gpt2Copy(c), 'model.safetensors')),
    args: (c) => forward(c, c.at('gpt2')),
    culprit: /gpt2.*model\.safetensors/,
  },
  weights(
    'a weight missing',
    (t) => void t.delete('transformer.h.0.attn.c_attn.weight'),
    /weight 'transformer\.h\.0\.attn\.c_attn\.weight' is missing/,
  ),
  weights(
    'a weight with the wrong shape',
    (t) => {
      const w = t.get('transformer.ln_f.weight')!;
      t.set('transformer.ln_f.weight', { ...w, shape: [32], data: w.data.subarray(0, 128) });
    },
    /weight 'transformer\.ln_f\.weight' has shape \[32\], expected \[64\]/,
  ),
  weights(
    'a weight holding NaN',
    (t) => {
      const w = t.get('transformer.ln_f.weight')!;
      const data = Buffer.from(w.dtype === 'F32' ? w.data : f32(Array.from({ length: 64 }, () => 1)));
      data.writeFloatLE(Number.NaN, 8);
      t.set('transformer.ln_f.weight', { dtype: 'F32', shape: w.shape, data });
    },
    /model\.safetensors: tensor 'transformer\.ln_f\.weight' holds NaN/,
  ),
  {
    name: 'a shard index that is not JSON',
    setup: (c) => {
      const dir = gpt2Copy(c);
      rmSync(join(dir, 'model.safetensors'));
      writeFileSync(join(dir, 'model.safetensors.index.json'), '{"weight_map": ');
    },
    args: (c) => forward(c, c.at('gpt2')),
    culprit: /model\.safetensors\.index\.json: not valid JSON/,
  },
  {
    name: 'a shard index without weight_map',
    setup: (c) => {
      const dir = gpt2Copy(c);
      rmSync(join(dir, 'model.safetensors'));
      writeFileSync(join(dir, 'model.safetensors.index.json'), '{"metadata": {}}');
    },
    args: (c) => forward(c, c.at('gpt2')),
    culprit: /model\.safetensors\.index\.json: field 'weight_map' is missing/,
  },
  {
    name: 'a shard index naming a missing shard',
    setup: (c) => {
      const dir = gpt2Copy(c);
      rmSync(join(dir, 'model.safetensors'));
      writeFileSync(
        join(dir, 'model.safetensors.index.json'),
        JSON.stringify({ weight_map: { 'transformer.wte.weight': 'model-00001-of-00002.safetensors' } }),
      );
    },
    args: (c) => forward(c, c.at('gpt2')),
    culprit: /shard 'model-00001-of-00002\.safetensors' \(for 'transformer\.wte\.weight'\) does not exist/,
  },
  llama(
    'num_key_value_heads not dividing the heads',
    (c) => (c.num_key_value_heads = 3),
    /llama\/config\.json: .*num_key_value_heads.*3/,
  ),
  llama('head_dim as a string', (c) => (c.head_dim = 'sixteen'), /llama\/config\.json: field 'head_dim' is "sixteen"/),
  llama('an unknown hidden_act', (c) => (c.hidden_act = 'relu7'), /llama\/config\.json: .*hidden_act.*relu7/),
  llama(
    'rms_norm_eps zero',
    (c) => (c.rms_norm_eps = 0),
    /llama\/config\.json: field 'rms_norm_eps' is 0, expected a number greater than 0/,
  ),
];

export const MODEL_FOLDER_CASES: BadInputCase[] = CASES.map((c) => ({
  ...c,
  setup: (dir) => {
    put(dir, 'ids.json', '[[1, 2, 3]]');
    c.setup?.(dir);
  },
}));
