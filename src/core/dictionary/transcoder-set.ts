// Per-layer transcoders (sae dictionaries, one per MLP) viewed as one cross-layer transcoder whose cross-layer
// decoders are zero: W_E[l] = W_E of layer l's transcoder, W_D.{t}[t] = its W_D, W_D.{t}[s<t] = 0, b_D.{t} = its
// b_D. With TopK per layer and the decoder-norm gate, the CLT's gate norm (the norm of the concatenated decoders)
// is then each transcoder's own decoder norm, so the CLT computes exactly what the transcoders compute, and the
// kind evaluator splices them in as one replacement (sequentially, layer by layer).
import type { SaeConfig } from '../../protocol/dictionary-config';
import { CltConfigSchema, type CltConfig } from '../../protocol/kind-configs/clt';
import { parseConfig } from '../config/validate';
import { InputError } from '../errors';
import { hostParam, type HostParams } from '../sae/host-tensor';

export function transcodersAsClt(dicts: { cfg: SaeConfig; params: HostParams; dir: string }[]): {
  cfg: CltConfig;
  params: HostParams;
} {
  const first = dicts[0];
  if (!first) throw new InputError('a transcoder set needs at least one transcoder');
  const { d_model: d, d_sae: F, act_fn, top_k } = first.cfg;
  for (const t of dicts) {
    const c = t.cfg;
    const same =
      c.d_model === d && c.d_sae === F && c.act_fn === act_fn && c.top_k === top_k && c.norm_activation === 'inference';
    if (
      !same ||
      !c.sparsity_include_decoder_norm ||
      c.apply_decoder_bias_to_pre_encoder ||
      c.hook_point_in === c.hook_point_out
    )
      throw new InputError(
        `${t.dir}: the transcoders of a set must share d_model, d_sae, act_fn and top_k, gate with decoder norms, be folded (norm_activation inference) and map one hook to another`,
      );
    if (act_fn !== 'topk' && act_fn !== 'relu')
      throw new InputError(`${t.dir}: act_fn '${act_fn}': only relu and topk transcoders form a set here`);
  }
  const L = dicts.length;
  const cfg = parseConfig(
    CltConfigSchema,
    {
      sae_type: 'clt',
      hook_points_in: dicts.map((t) => t.cfg.hook_point_in),
      hook_points_out: dicts.map((t) => t.cfg.hook_point_out),
      d_model: d,
      d_sae: F,
      act_fn,
      top_k,
      norm_activation: 'inference',
      model_name: first.cfg.model_name,
    },
    'transcoder set',
  );
  const W_E = new Float32Array(L * d * F);
  const b_E = new Float32Array(L * F);
  const params: HostParams = {};
  dicts.forEach((t, l) => {
    W_E.set(hostParam(t.params, 'W_E').data, l * d * F);
    b_E.set(hostParam(t.params, 'b_E').data, l * F);
    const W_D = new Float32Array((l + 1) * F * d);
    W_D.set(hostParam(t.params, 'W_D').data, l * F * d);
    params[`W_D.${l}`] = { data: W_D, shape: [l + 1, F, d] };
    params[`b_D.${l}`] = {
      data: t.params.b_D ? Float32Array.from(t.params.b_D.data) : new Float32Array(d),
      shape: [d],
    };
  });
  params.W_E = { data: W_E, shape: [L, d, F] };
  params.b_E = { data: b_E, shape: [L, F] };
  return { cfg, params };
}
