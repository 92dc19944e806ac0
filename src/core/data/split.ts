// Divides a dataset's context windows into `validation` and `train` by a seeded permutation, the way the
// pdlm-4l-256 reference did in PyTorch: perm = torch.randperm(nWindows, seed); the first
// floor(nWindows * validationFraction) entries of perm are validation (in that order), the rest train (in perm order).
import { InputError } from '../errors';
import { torchRandperm } from './random/torch-randperm';

export type SplitName = 'validation' | 'train';
export const SPLIT_NAMES: readonly SplitName[] = ['validation', 'train'];

export interface WindowSplitRule {
  /** PyTorch CPU generator seed (manual_seed), 0..2^32-1. */
  seed: number;
  validationFraction: number;
}

export function validationCount(nWindows: number, rule: WindowSplitRule): number {
  return Math.floor(nWindows * rule.validationFraction);
}

/** Window indices of one split, in the order the reference used them. */
export function splitWindowIndices(nWindows: number, rule: WindowSplitRule, split: SplitName): Int32Array {
  const nVal = validationCount(nWindows, rule);
  const perm = torchRandperm(nWindows, rule.seed);
  return split === 'validation' ? perm.subarray(0, nVal) : perm.subarray(nVal);
}

export function parseSplitName(value: string, where = 'split'): SplitName {
  if ((SPLIT_NAMES as readonly string[]).includes(value)) return value as SplitName;
  throw new InputError(`${where}: '${value}' is not a split, expected one of ${SPLIT_NAMES.join(', ')}`);
}
