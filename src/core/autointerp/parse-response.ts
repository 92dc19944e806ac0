// Reading the explainer's answers: lm-saes asks for JSON objects and reads them with json_repair
// (feature_interpreter.py); here a JSON object is looked for inside whatever chatter surrounds it, with the
// common slips repaired (code fences, trailing commas, Python's True/False). An answer that still cannot be read
// raises an AnswerError naming what was expected — counted as a failed score by the scorers, never a crash.

export class AnswerError extends Error {
  override name = 'AnswerError';
}

const quote = (text: string) => {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? `'${one.slice(0, 77)}…'` : `'${one}'`;
};

/** The balanced {...} spans of `text`, outermost first, strings respected. */
function objectSpans(text: string): string[] {
  const spans: string[] = [];
  for (let start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        spans.push(text.slice(start, i + 1));
        break;
      }
    }
  }
  return spans;
}

function tryParse(span: string): Record<string, unknown> | null {
  const attempts = [
    span,
    span
      .replace(/,\s*([}\]])/g, '$1')
      .replace(/\bTrue\b/g, 'true')
      .replace(/\bFalse\b/g, 'false'),
  ];
  for (const a of attempts) {
    try {
      const v = JSON.parse(a) as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // the next repair
    }
  }
  return null;
}

/** The first JSON object in `text` that has `field`, or null. */
export function findJsonObject(text: string, field: string): Record<string, unknown> | null {
  for (const span of objectSpans(text)) {
    const obj = tryParse(span);
    if (obj && field in obj) return obj;
  }
  return null;
}

export interface ParsedExplanation {
  finalExplanation: string;
  activationConsistency: number | null;
  complexity: number | null;
  steps: string[];
  /** False when the answer held no JSON object and its text was taken as the explanation. */
  parsed: boolean;
}

const scale = (v: unknown): number | null =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 5 ? v : null;

/**
 * The explanation in an answer: lm-saes's JSON object (`final_explanation`, `activation_consistency`,
 * `complexity`, `steps`), or — as lm-saes does for explainers that answer in plain text (its neuronpedia
 * branch) — the answer's first non-empty line. An empty answer is an AnswerError.
 */
export function parseExplanation(answer: string): ParsedExplanation {
  const obj = findJsonObject(answer, 'final_explanation');
  if (obj && typeof obj.final_explanation === 'string' && obj.final_explanation.trim() !== '') {
    return {
      finalExplanation: obj.final_explanation.trim(),
      activationConsistency: scale(obj.activation_consistency),
      complexity: scale(obj.complexity),
      steps: Array.isArray(obj.steps) ? obj.steps.map((s) => (typeof s === 'string' ? s : JSON.stringify(s))) : [],
      parsed: true,
    };
  }
  const line = answer
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  if (line === undefined)
    throw new AnswerError('explanation answer is empty, expected a JSON object with `final_explanation`');
  return {
    finalExplanation: line.slice(0, 300),
    activationConsistency: null,
    complexity: null,
    steps: [],
    parsed: false,
  };
}

function asBoolean(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (['true', 'yes', '1'].includes(s)) return true;
    if (['false', 'no', '0'].includes(s)) return false;
  }
  return null;
}

/**
 * The `evaluation_results` booleans of a scorer's answer, as lm-saes reads them: cut to `n`, padded with false
 * when short (feature_interpreter.py evaluate_explanation_detection / _fuzzing). An AnswerError when the answer
 * holds no such array.
 */
export function parseEvaluation(answer: string, n: number): boolean[] {
  const obj = findJsonObject(answer, 'evaluation_results');
  let list: unknown = obj?.evaluation_results;
  if (!Array.isArray(list)) {
    const m = /evaluation_results["']?\s*[:=]\s*\[([^\]]*)\]/i.exec(answer);
    if (m) list = m[1]!.split(',').map((s) => s.trim().replace(/^["']|["']$/g, ''));
  }
  if (!Array.isArray(list))
    throw new AnswerError(
      `scorer answer ${quote(answer)}: expected a JSON object with \`evaluation_results\`, an array of ${n} booleans`,
    );
  const values = list.map(asBoolean);
  const bad = values.findIndex((v) => v === null);
  if (bad >= 0)
    throw new AnswerError(
      `scorer answer: evaluation_results[${bad}] is ${quote(JSON.stringify(list[bad]))}, expected true or false`,
    );
  const out = (values as boolean[]).slice(0, n);
  while (out.length < n) out.push(false);
  return out;
}
