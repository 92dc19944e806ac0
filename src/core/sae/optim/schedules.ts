// Learning-rate, sparsity-coefficient and K schedules by step, with lm-saes's names and conventions
// (a warm-up or cool-down length given as a float < 1 is a fraction of the total steps).
import { LR_SCHEDULERS, type LrSchedulerName } from '../../../protocol/run-config';
import { InputError } from '../../errors';

/** Steps for a length given as steps (≥ 1) or as a fraction of `total` (< 1). */
export function resolveSteps(value: number, total: number): number {
  return value < 1 ? Math.round(value * total) : Math.round(value);
}

export interface LrScheduleOptions {
  name: LrSchedulerName;
  lr: number;
  totalSteps: number;
  warmUpSteps: number;
  coolDownSteps: number;
  /** Final lr as a fraction of lr. */
  endRatio: number;
}

/**
 * lr at `step` (0-based, the step about to be taken):
 * - constant: lr
 * - constantwithwarmup: linear warm-up from 0, constant, then a linear cool-down to lr·endRatio over the last steps
 * - linearwarmupdecay: linear warm-up, then linear decay to lr·endRatio at the end
 * - cosineannealing: cosine from lr to lr·endRatio
 * - cosineannealingwarmup: linear warm-up, then cosine to lr·endRatio
 */
export function learningRate(o: LrScheduleOptions, step: number): number {
  const warm = resolveSteps(o.warmUpSteps, o.totalSteps);
  const cool = resolveSteps(o.coolDownSteps, o.totalSteps);
  const end = o.lr * o.endRatio;
  const T = o.totalSteps;
  const warmFactor = warm > 0 && step < warm ? (step + 1) / warm : 1;
  switch (o.name) {
    case 'constant':
      return o.lr;
    case 'constantwithwarmup': {
      if (step < warm) return o.lr * warmFactor;
      const coolStart = T - cool;
      if (cool > 0 && step >= coolStart) return o.lr - ((o.lr - end) * (step - coolStart + 1)) / cool;
      return o.lr;
    }
    case 'linearwarmupdecay': {
      if (step < warm) return o.lr * warmFactor;
      const span = Math.max(1, T - warm);
      return o.lr - ((o.lr - end) * (step - warm + 1)) / span;
    }
    case 'cosineannealing':
      return end + ((o.lr - end) * (1 + Math.cos((Math.PI * step) / Math.max(1, T)))) / 2;
    case 'cosineannealingwarmup': {
      if (step < warm) return o.lr * warmFactor;
      const t = (step - warm) / Math.max(1, T - warm);
      return end + ((o.lr - end) * (1 + Math.cos(Math.PI * t))) / 2;
    }
    default:
      throw new InputError(`lr_scheduler_name '${String(o.name)}' is not one of ${LR_SCHEDULERS.join(', ')}`);
  }
}

/** Linear warm-up of a coefficient from 0 to `value` over `warmUpSteps`. */
export function warmedCoefficient(value: number, warmUpSteps: number, step: number): number {
  return warmUpSteps > 0 && step < warmUpSteps ? (value * (step + 1)) / warmUpSteps : value;
}

/** K annealing: linear from initialK to k over warmUpSteps (rounded to an integer ≥ k). */
export function annealedK(k: number, initialK: number | null, warmUpSteps: number, step: number): number {
  if (initialK === null || initialK <= k || warmUpSteps <= 0 || step >= warmUpSteps) return k;
  return Math.max(k, Math.round(initialK + ((k - initialK) * step) / warmUpSteps));
}
