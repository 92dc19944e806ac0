// Folds the dataset-wise activation scale into a dictionary's weights, so the folded dictionary takes raw
// activations (norm_activation 'inference') and gives the same feature activations and the de-normalised
// reconstruction. Pure host arithmetic (float64, rounded once to float32).
//
// With s_in = sqrt(d_model)/norm[hook_point_in] and s_out = sqrt(d_model)/norm[hook_point_out]:
//   W_E' = s_in·W_E, b_E' = b_E, W_D' = W_D/s_out, b_D' = b_D/s_out.
// Then pre' = x W_E' + b_E' = (s_in x) W_E + b_E = pre: feature activations (and so JumpReLU thresholds) are
// unchanged, and x̂' = z W_D' + b_D' = x̂/s_out. With apply_decoder_bias_to_pre_encoder (an SAE, so s_in = s_out = s):
// (x − b_D/s)(s W_E) = (s x − b_D) W_E. This is SAELens's `fold_activation_norm_scaling_factor` (W_enc·s,
// W_dec/s, b_dec/s, b_enc and thresholds kept). lm-saes's `standardize_parameters_of_dataset_norm` chooses the
// other gauge (b_E/s_in, W_D·s_in/s_out, W_E kept: feature activations come out in raw units, and it leaves
// JumpReLU thresholds untouched); we keep ours so thresholds and feature activations need no conversion.
// TopK / BatchTopK score pre·‖W_D,i‖ when sparsity_include_decoder_norm: that score scales by 1/s_out, which keeps
// each row's ranking (TopK) and needs the BatchTopK threshold divided by s_out; without decoder norms it is unchanged.
//
// Only norm_activation 'dataset-wise' can be folded. 'inference' is returned as it is (already folded: folding
// is idempotent). 'token-wise' and 'batch-wise' scale each input by its own norm, which no fixed weight can
// express, so they are an error (exporters handle token-wise themselves, e.g. SAELens 'constant_norm_rescale').
import type { SaeConfig } from '../../../protocol/dictionary-config';
import { InputError } from '../../errors';
import type { HostParams } from '../host-tensor';
import { datasetScale } from '../sparse-dictionary';

export interface FoldedDictionary {
  cfg: SaeConfig;
  params: HostParams;
}

function scaled(data: Float32Array, factor: number): Float32Array {
  return Float32Array.from(data, (v) => v * factor);
}

export function foldActivationNorm(cfg: SaeConfig, params: HostParams): FoldedDictionary {
  if (cfg.norm_activation === 'inference') return { cfg, params };
  if (cfg.norm_activation !== 'dataset-wise') {
    throw new InputError(
      `norm_activation '${cfg.norm_activation}' cannot be folded into the weights (each input is scaled by its own norm); only 'dataset-wise' can`,
    );
  }
  for (const hook of [cfg.hook_point_in, cfg.hook_point_out]) {
    if (cfg.dataset_average_activation_norm?.[hook] === undefined) {
      throw new InputError(
        `field 'dataset_average_activation_norm': no norm for '${hook}' (needed to fold a dataset-wise dictionary)`,
      );
    }
  }
  const sIn = datasetScale(cfg, cfg.hook_point_in);
  const sOut = datasetScale(cfg, cfg.hook_point_out);
  if (cfg.apply_decoder_bias_to_pre_encoder && cfg.use_decoder_bias && sIn !== sOut) {
    throw new InputError(
      `apply_decoder_bias_to_pre_encoder needs the same activation norm at '${cfg.hook_point_in}' and '${cfg.hook_point_out}'`,
    );
  }
  const out: HostParams = {};
  for (const [name, t] of Object.entries(params)) {
    let data: Float32Array;
    switch (name) {
      case 'W_E':
        data = scaled(t.data, sIn); // [d_model, d_sae]
        break;
      case 'W_D':
      case 'b_D':
        data = scaled(t.data, 1 / sOut); // [d_sae, d_model] / [d_model]
        break;
      case 'batchtopk_threshold':
        data = cfg.sparsity_include_decoder_norm ? scaled(t.data, 1 / sOut) : Float32Array.from(t.data); // []
        break;
      default:
        data = Float32Array.from(t.data); // b_E, log_jumprelu_threshold: pre-activations are unchanged
    }
    out[name] = { data, shape: [...t.shape] };
  }
  return { cfg: { ...cfg, norm_activation: 'inference', dataset_average_activation_norm: null }, params: out };
}
