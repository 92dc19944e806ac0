// A small TopK SAE on pdlm-4l-256, trained and analysed by the built CLI into a home, for tests that need a
// dictionary with feature samples in the store (auto-interpretation).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli';
import { smallTextDataset, smallTrainConfig } from './train-fixtures';

/** Trains dictionary `name` (d_sae 256) in `home` and analyses it over `tokens` tokens; throws with stderr on failure. */
export function analysedDictionary(home: string, name = 'small', tokens = 3000): void {
  const dataset = smallTextDataset();
  const cfg = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'train.json');
  const base = smallTrainConfig(dataset, { name, checkpoint_every_tokens: null, total_training_tokens: 256 * 6 });
  writeFileSync(cfg, JSON.stringify({ ...base, sae: { ...base.sae, d_sae: 256 } }));
  const env = { SAE_STUDIO_HOME: home };
  const t = runCli(['train', '--config', cfg, '--run-id', `train-${name}`], env);
  if (t.status !== 0) throw new Error(`train failed: ${t.stderr}`);
  const a = runCli(
    ['analyze', '--dictionary', name, '--dataset', dataset, '--tokens', String(tokens), '--backend', 'wasm'],
    env,
  );
  if (a.status !== 0) throw new Error(`analyze failed: ${a.stderr}`);
}
