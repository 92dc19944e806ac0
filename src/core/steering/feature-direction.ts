// What steering with one feature writes, read from a dictionary of any kind: the feature's decoder row at each hook
// it writes (mapped into that hook's raw activation space), and, for an SAE, its encoder column so that clamping
// can set the feature's pre-activation. Kinds without a per-feature decoder direction are refused in one line.
import { InputError } from '../errors';
import { datasetHookScale } from '../dictionary/apply';
import type { DictionaryKind, KindConfigBase } from '../dictionary/kind';
import type { HostParams } from '../sae/host-tensor';

/** A direction added at one hook: the decoder row W_D[f] / c_hook ([d_model], raw space of the hook). */
export interface DirectionWrite {
  hook: string;
  direction: Float32Array;
}

/**
 * The encoder side of an SAE feature in raw space: pre_f(x) = (c·x − b_D?) · w + b, and dot = w · W_D[f], the
 * change of pre_f per unit of decoder row added in normalised space.
 */
export interface FeatureEncoder {
  hook: string;
  w: Float32Array; // [d_model], W_E[:, f]
  b: number; // b_E[f]
  preBias: Float32Array | null; // [d_model], b_D when apply_decoder_bias_to_pre_encoder
  scale: number; // c_hook
  dot: number;
}

export interface SteeringTarget {
  feature: number;
  writes: DirectionWrite[];
  /** Null where clamping is not defined (transcoders, CLT, crosscoder): the reason is in clampRefusal. */
  encoder: FeatureEncoder | null;
  clampRefusal: string | null;
}

export interface DictionaryLike {
  kind: DictionaryKind;
  cfg: KindConfigBase;
  params: HostParams;
}

function row(params: HostParams, name: string, offset: number, d: number, scale: number): Float32Array {
  const t = params[name];
  if (!t) throw new InputError(`dictionary: weight '${name}' is missing`);
  const out = new Float32Array(d);
  for (let c = 0; c < d; c++) out[c] = t.data[offset + c]! / scale;
  return out;
}

function checkIndex(feature: number, count: number, what: string): void {
  if (!Number.isInteger(feature) || feature < 0 || feature >= count)
    throw new InputError(`feature ${feature}: out of range, expected 0..${count - 1} (${what})`);
}

function fixedScale(cfg: KindConfigBase, hook: string): number {
  if (cfg.norm_activation === 'token-wise' || cfg.norm_activation === 'batch-wise')
    throw new InputError(
      `dictionary: norm_activation '${cfg.norm_activation}' rescales every token, expected 'dataset-wise' or 'inference' for steering`,
    );
  return datasetHookScale(cfg, hook);
}

interface SaeFields {
  hook_point_in: string;
  hook_point_out: string;
  apply_decoder_bias_to_pre_encoder?: boolean;
}

function saeTarget(dict: DictionaryLike, feature: number): SteeringTarget {
  const cfg = dict.cfg as KindConfigBase & SaeFields;
  const { d_model: d, d_sae: F } = cfg;
  checkIndex(feature, F, `the dictionary has ${F} features`);
  const cOut = fixedScale(cfg, cfg.hook_point_out);
  const direction = row(dict.params, 'W_D', feature * d, d, cOut);
  const writes = [{ hook: cfg.hook_point_out, direction }];
  if (cfg.hook_point_in !== cfg.hook_point_out) {
    const refusal = `clamp: the dictionary is a transcoder (${cfg.hook_point_in} → ${cfg.hook_point_out}): its encoder does not read the hook it writes; use mode 'add'`;
    return { feature, writes, encoder: null, clampRefusal: refusal };
  }
  const W_E = dict.params.W_E!.data; // [d, F]
  const w = new Float32Array(d);
  for (let c = 0; c < d; c++) w[c] = W_E[c * F + feature]!;
  const decoder = dict.params.W_D!.data.subarray(feature * d, (feature + 1) * d);
  let dot = 0;
  for (let c = 0; c < d; c++) dot += w[c]! * decoder[c]!;
  const b_D = dict.params.b_D;
  const preBias = cfg.apply_decoder_bias_to_pre_encoder && b_D ? Float32Array.from(b_D.data) : null;
  const encoder: FeatureEncoder = {
    hook: cfg.hook_point_in,
    w,
    b: dict.params.b_E!.data[feature]!,
    preBias,
    scale: fixedScale(cfg, cfg.hook_point_in),
    dot,
  };
  const clampRefusal =
    Math.abs(dot) < 1e-6
      ? `clamp: feature ${feature}'s encoder is orthogonal to its decoder (W_E[:, f]·W_D[f] = ${dot}); use mode 'add'`
      : null;
  return { feature, writes, encoder: clampRefusal ? null : encoder, clampRefusal };
}

/** CLT feature s·F + i writes W_D.{t}[s, i] at every target layer t ≥ s (circuit-tracer's cross-layer decoders). */
function cltTarget(dict: DictionaryLike, feature: number): SteeringTarget {
  const cfg = dict.cfg as KindConfigBase & { hook_points_out: string[] };
  const { d_model: d, d_sae: F } = cfg;
  const L = cfg.hook_points_out.length;
  checkIndex(feature, L * F, `the CLT has ${L} layers × ${F} features`);
  const s = Math.floor(feature / F);
  const i = feature % F;
  const writes: DirectionWrite[] = [];
  for (let t = s; t < L; t++) {
    const hook = cfg.hook_points_out[t]!;
    writes.push({ hook, direction: row(dict.params, `W_D.${t}`, (s * F + i) * d, d, fixedScale(cfg, hook)) });
  }
  return { feature, writes, encoder: null, clampRefusal: `clamp: not defined for a CLT feature; use mode 'add'` };
}

/** A crosscoder feature writes its head's decoder row W_D[h, f] at each head's hook. */
function crosscoderTarget(dict: DictionaryLike, feature: number): SteeringTarget {
  const cfg = dict.cfg as KindConfigBase & { hook_points: string[] };
  const { d_model: d, d_sae: F } = cfg;
  checkIndex(feature, F, `the crosscoder has ${F} features`);
  const writes = cfg.hook_points.map((hook, h) => ({
    hook,
    direction: row(dict.params, 'W_D', (h * F + feature) * d, d, fixedScale(cfg, hook)),
  }));
  return {
    feature,
    writes,
    encoder: null,
    clampRefusal: `clamp: not defined for a crosscoder feature; use mode 'add'`,
  };
}

/** The steering target of `feature` in `dict`; an InputError for kinds without a decoder direction. */
export function steeringTarget(dict: DictionaryLike, feature: number): SteeringTarget {
  switch (dict.kind.saeType) {
    case 'sae':
      return saeTarget(dict, feature);
    case 'clt':
      return cltTarget(dict, feature);
    case 'crosscoder':
      return crosscoderTarget(dict, feature);
    default:
      throw new InputError(
        `steering: a ${dict.kind.label} (sae_type '${dict.kind.saeType}') has no single decoder direction per feature; expected an SAE, transcoder, CLT or crosscoder`,
      );
  }
}
