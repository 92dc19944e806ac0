// The scores of a scorer's answers against the truth, exactly as lm-saes computes them
// (feature_interpreter.py evaluate_explanation_detection / evaluate_explanation_fuzzing): accuracy, precision,
// recall, F1 and balanced accuracy, each 0 where its denominator is 0; an explanation passes at balanced
// accuracy ≥ 0.7.

export interface BinaryMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  balanced_accuracy: number;
}

export const PASS_BALANCED_ACCURACY = 0.7;

export const ZERO_METRICS: Readonly<BinaryMetrics> = Object.freeze({
  accuracy: 0,
  precision: 0,
  recall: 0,
  f1: 0,
  balanced_accuracy: 0,
});

export function binaryMetrics(groundTruth: readonly boolean[], predictions: readonly boolean[]): BinaryMetrics {
  let tp = 0;
  let tn = 0;
  let fp = 0;
  let fn = 0;
  groundTruth.forEach((gt, i) => {
    const p = predictions[i] ?? false;
    if (gt && p) tp++;
    else if (!gt && !p) tn++;
    else if (!gt && p) fp++;
    else fn++;
  });
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    accuracy: groundTruth.length > 0 ? (tp + tn) / groundTruth.length : 0,
    precision,
    recall,
    f1: ratio(2 * precision * recall, precision + recall),
    balanced_accuracy: (ratio(tp, tp + fn) + ratio(tn, tn + fp)) / 2,
  };
}
