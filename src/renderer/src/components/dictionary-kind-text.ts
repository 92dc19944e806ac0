// How a dictionary of any kind reads in a list: its kind and activation function, and the hooks it reads and writes
// (one hook for an SAE, hook → hook for a transcoder, Lorsa or MoLT, the heads of a crosscoder, a CLT's layers).
import type { DictionarySummary } from '../../../protocol/dictionaries';
import { DICTIONARY_KIND_TEXTS } from '../../../protocol/dictionary-kinds';
import { DICTIONARY_KINDS } from '../../../protocol/run-config';

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** "topk", or "topk · Crosscoder" for the kinds beyond `sae`. */
export function dictionaryKindText(d: DictionarySummary): string {
  const act = typeof d.config.act_fn === 'string' ? d.config.act_fn : null;
  const kind = DICTIONARY_KINDS.find((k) => k === d.saeType);
  const name = kind && kind !== 'sae' ? DICTIONARY_KIND_TEXTS[kind].short : kind ? null : d.saeType;
  return [act, name].filter((x) => x !== null).join(' · ') || d.saeType;
}

export function dictionaryHooksText(d: DictionarySummary): string {
  const heads = strings(d.config.hook_points);
  if (heads.length > 0) return heads.join(', ');
  const ins = strings(d.config.hook_points_in);
  const outs = strings(d.config.hook_points_out);
  if (ins.length > 0) return `${ins[0]} … ${outs.at(-1) ?? '?'} (${ins.length} layers)`;
  if (!d.hookPointIn) return '—';
  return d.hookPointOut && d.hookPointOut !== d.hookPointIn ? `${d.hookPointIn} → ${d.hookPointOut}` : d.hookPointIn;
}
