// Reading an auto-interpretation's `detail` (as core/autointerp stores it) for display; a hand-written
// interpretation has none and yields null.

export interface ScoreView {
  method: string;
  metrics: Record<string, number>;
  passed: boolean;
  error: string | null;
  prompt: { system: string; user: string } | null;
  response: string;
}

export interface AutointerpView {
  explainer: { backend: string; model: string };
  complexity: number | null;
  consistency: number | null;
  passed: boolean;
  prompt: { system: string; user: string } | null;
  response: string;
  evaluations: ScoreView[];
}

const obj = (v: unknown): Record<string, unknown> | null =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const num = (v: unknown) => (typeof v === 'number' ? v : null);

function prompt(v: unknown): { system: string; user: string } | null {
  const p = obj(v);
  return p ? { system: str(p.system), user: str(p.user) } : null;
}

export function autointerpView(detail: Record<string, unknown> | null): AutointerpView | null {
  const explainer = obj(detail?.explainer);
  if (!detail || !explainer) return null;
  const details = obj(detail.explanation_details);
  const evaluations = (Array.isArray(detail.evaluations) ? detail.evaluations : []).flatMap((e) => {
    const r = obj(e);
    if (!r) return [];
    const metrics = Object.fromEntries(
      Object.entries(obj(r.metrics) ?? {}).filter((x): x is [string, number] => typeof x[1] === 'number'),
    );
    return [
      {
        method: str(r.method),
        metrics,
        passed: r.passed === true,
        error: typeof r.error === 'string' ? r.error : null,
        prompt: prompt(r.prompt),
        response: str(r.response),
      },
    ];
  });
  return {
    explainer: { backend: str(explainer.backend), model: str(explainer.model) },
    complexity: num(detail.complexity),
    consistency: num(detail.consistency),
    passed: detail.passed === true,
    prompt: prompt(details?.prompt),
    response: str(details?.response),
    evaluations,
  };
}
