// `--basis unprocessed|transformer-lens` for the commands that run a model with a dictionary: the basis the
// dictionary's files record wins (a contradicting flag is an error); when they record none the flag decides, and
// without it the unprocessed basis is assumed with one notice line on stderr.
import { chooseBasis, parseBasisOption, type BasisSource } from '../core/lm/activation-basis';
import type { ActivationBasis } from '../protocol/kind-configs/common';
import type { OptionSpec } from './command';

export const BASIS_OPTION: Record<string, OptionSpec> = {
  basis: {
    type: 'string',
    valueName: 'NAME',
    help: "activation basis the dictionary was trained in, when its files do not say: unprocessed (default) or transformer-lens (TransformerLens's fold_ln, center_writing_weights, center_unembed, fold_value_biases)",
  },
};

/** The basis to load the model in for `dict`; prints the notice when the basis is assumed. */
export function basisForCli(
  dict: { dir: string; cfg: { activation_basis: ActivationBasis }; basisSource: BasisSource },
  values: Record<string, unknown>,
): ActivationBasis {
  const { basis, notice } = chooseBasis(dict, parseBasisOption(values.basis));
  if (notice) process.stderr.write(`${notice}\n`);
  return basis;
}
