// `sae-studio analyze` and `sae-studio feature --json` for every non-SAE kind: a tiny random dictionary of each in
// lm-saes's layout under the studio home, analysed by the built CLI over a few windows of a small text folder; the
// store then holds the kind's feature count and each feature's own data (checked against the weights).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveAnyDictionary } from '../../src/core/dictionary/registry';
import { cltDecoderNormsPerTarget } from '../../src/core/dictionary/kinds/clt';
import { crosscoderFeatureHeadStats } from '../../src/core/dictionary/kinds/crosscoder';
import type { CltConfig } from '../../src/protocol/kind-configs/clt';
import type { CrossCoderConfig } from '../../src/protocol/kind-configs/crosscoder';
import type { FeatureKindData, SampleKindData } from '../../src/protocol/features';
import { errorLines, runCli } from '../helpers/cli';
import { kindDictionary, KIND_NAMES, type KindDictionary } from '../helpers/kind-dictionaries';
import { smallTextDataset, tempHome } from '../helpers/train-fixtures';

interface FeatureJson {
  index: number;
  kind: string;
  kind_data: FeatureKindData | null;
  act_count: number;
  samples: { sampling: string; kind_data: SampleKindData | null; activations: number[] }[];
}

interface ListedFeature {
  index: number;
  frequency: number;
}

describe('sae-studio analyze for every kind', () => {
  let home: string;
  let dataset: string;
  const dicts = new Map<string, KindDictionary>();
  const env = () => ({ SAE_STUDIO_HOME: home });

  beforeAll(() => {
    home = tempHome();
    dataset = smallTextDataset();
    mkdirSync(join(home, 'dictionaries'), { recursive: true });
    for (const saeType of KIND_NAMES) {
      const d = kindDictionary(saeType);
      dicts.set(saeType, d);
      saveAnyDictionary(join(home, 'dictionaries', d.name), d.kind, d.cfg, d.params);
    }
  });

  for (const saeType of KIND_NAMES) {
    it(`${saeType}: analyses into the store and shows the kind's data of its most frequent feature`, () => {
      const d = dicts.get(saeType)!;
      const a = runCli(
        ['analyze', '--dictionary', d.name, '--dataset', dataset, '--tokens', '600', '--backend', 'wasm'],
        env(),
      );
      expect(a.status, a.stderr).toBe(0);
      expect(errorLines(a.stderr).filter((l) => /error/i.test(l))).toEqual([]);
      expect((JSON.parse(a.stdout) as { tokens: number }).tokens).toBeGreaterThanOrEqual(600);

      const list = runCli(['features', '--dictionary', d.name, '--sort', 'frequency', '--json'], env());
      expect(list.status, list.stderr).toBe(0);
      const features = JSON.parse(list.stdout) as ListedFeature[];
      expect(features).toHaveLength(saeType === 'clt' ? 4 * d.cfg.d_sae : d.cfg.d_sae);
      const top = features[0]!;
      expect(top.frequency).toBeGreaterThan(0);

      const r = runCli(['feature', d.name, String(top.index), '--json'], env());
      expect(r.status, r.stderr).toBe(0);
      const f = JSON.parse(r.stdout) as FeatureJson;
      expect(f.kind).toBe(saeType);
      checkKindData(d, f);
    });
  }
});

function checkKindData(d: KindDictionary, f: FeatureJson): void {
  const tops = f.samples.filter((s) => s.sampling === 'top_activations');
  expect(tops.length).toBeGreaterThan(0);
  const kd = f.kind_data!;
  expect(kd.kind).toBe(d.kind.saeType);
  if (kd.kind === 'clt') {
    const L = 4;
    const F = d.cfg.d_sae;
    expect([kd.layer, kd.layerIndex]).toEqual([Math.floor(f.index / F), f.index % F]);
    const norms = cltDecoderNormsPerTarget(d.cfg as unknown as CltConfig, d.params);
    kd.decoderNorms.forEach((v, t) => expect(v).toBeCloseTo(norms[f.index * L + t]!, 6));
  } else if (kd.kind === 'crosscoder') {
    const stats = crosscoderFeatureHeadStats(d.cfg as unknown as CrossCoderConfig, d.params, f.index);
    kd.decoderNorms.forEach((v, h) => expect(v).toBeCloseTo(stats.decoderNorms[h]!, 6));
    expect(kd.similarity).toHaveLength(3);
    for (const s of tops) {
      const heads = s.kind_data?.headActivations;
      expect(heads?.values).toHaveLength(3);
      expect(Math.max(...heads!.values)).toBeCloseTo(s.activations[heads!.position]!, 4);
    }
  } else if (kd.kind === 'lorsa') {
    for (const s of tops) {
      const z = s.kind_data?.zPattern;
      expect(z?.contributions).toHaveLength(z!.query + 1);
      expect(s.activations[z!.query]).toBe(Math.max(...s.activations));
    }
  } else {
    expect(kd.rank).toBe(f.index < 8 ? 1 : f.index < 12 ? 2 : 4);
  }
}
