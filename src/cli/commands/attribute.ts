// `sae-studio attribute`: the attribution graph of a prompt's next-token prediction under a replacement model
// (a dictionary set of transcoders / a CLT and Lorsas), pruned, written as circuit-tracer / Neuronpedia graph JSON
// and stored with its prompt, settings and status; a progress bar on stderr, Ctrl-C cancels.
import { writeFileSync, renameSync } from 'node:fs';
import { resolve } from 'node:path';
import { attributeIntoStore } from '../../core/circuits/attribute-job';
import { InputError } from '../../core/errors';
import { studioHome } from '../../core/home';
import { readTokenFile } from '../../core/lm/token-file';
import { initBackend, parseBackendRequest } from '../../core/tensor/backend';
import { BACKEND_OPTION, requireOption, type Command } from '../command';
import { progressBar } from '../progress';

function numberOption(values: Record<string, unknown>, flag: string): number | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (String(v).trim() === '' || !Number.isFinite(n))
    throw new InputError(`--${flag} is '${String(v)}', expected a number`);
  return n;
}

export const attributeCommand: Command = {
  name: 'attribute',
  summary: 'Attribution graph of a prompt under a dictionary set (transcoders / CLT + Lorsa): pruned graph JSON.',
  usage:
    'attribute --set NAME | --dictionaries a,b --prompt TEXT | --ids FILE --out graph.json [--max-feature-nodes N] [--node-threshold t] …',
  options: {
    set: { type: 'string', valueName: 'NAME', help: 'a dictionary set in the store (e.g. replacement)' },
    dictionaries: { type: 'string', valueName: 'LIST', help: 'dictionary names or folders instead of a set' },
    model: { type: 'string', valueName: 'DIR|NAME', help: "the model (default: the set's)" },
    prompt: { type: 'string', valueName: 'TEXT', help: 'the prompt (a BOS is put in front)' },
    ids: { type: 'string', valueName: 'FILE', help: 'token ids [1, seq] instead of a prompt (safetensors or JSON)' },
    out: { type: 'string', valueName: 'FILE', help: 'the pruned graph JSON (circuit-tracer / Neuronpedia, schema 1)' },
    name: { type: 'string', valueName: 'NAME', help: "the graph's name in the store" },
    'max-feature-nodes': { type: 'string', valueName: 'N', help: 'features to collect (default 7500; all: 0)' },
    'desired-logit-prob': {
      type: 'string',
      valueName: 'P',
      help: 'cumulative probability of the target logits (0.95)',
    },
    'max-n-logits': { type: 'string', valueName: 'N', help: 'at most this many target logits (10)' },
    'batch-size': { type: 'string', valueName: 'N', help: 'rows per reverse sweep (256)' },
    'node-threshold': { type: 'string', valueName: 'T', help: 'pruning: cumulative node influence kept, (0, 1]' },
    'edge-threshold': { type: 'string', valueName: 'T', help: 'pruning: cumulative edge score kept, (0, 1]' },
    'prune-method': { type: 'string', valueName: 'M', help: 'circuit-tracer (default) or lm-saes' },
    dtype: { type: 'string', valueName: 'T', help: 'float32 (default) or float64' },
    'qk-tracing-topk': { type: 'string', valueName: 'N', help: 'QK tracing: contributors kept per Lorsa head (10)' },
    'qk-top-fraction': { type: 'string', valueName: 'F', help: 'QK tracing: fraction of Lorsa features traced (0.6)' },
    'qk-ranking': { type: 'string', valueName: 'R', help: 'QK tracing: signed (default) or abs' },
    ...BACKEND_OPTION,
  },
  async run(values) {
    const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
    const out = resolve(requireOption(this, values, 'out'));
    const maxNodes = numberOption(values, 'max-feature-nodes');
    const settings = {
      ...(maxNodes !== undefined ? { max_feature_nodes: maxNodes === 0 ? null : maxNodes } : {}),
      ...(numberOption(values, 'desired-logit-prob') !== undefined
        ? { desired_logit_prob: numberOption(values, 'desired-logit-prob') }
        : {}),
      ...(numberOption(values, 'max-n-logits') !== undefined
        ? { max_n_logits: numberOption(values, 'max-n-logits') }
        : {}),
      ...(numberOption(values, 'batch-size') !== undefined ? { batch_size: numberOption(values, 'batch-size') } : {}),
      ...(values.dtype !== undefined ? { dtype: values.dtype } : {}),
    };
    const prune = {
      ...(values['prune-method'] !== undefined ? { prune_method: values['prune-method'] } : {}),
      ...(numberOption(values, 'node-threshold') !== undefined
        ? { node_threshold: numberOption(values, 'node-threshold') }
        : {}),
      ...(numberOption(values, 'edge-threshold') !== undefined
        ? { edge_threshold: numberOption(values, 'edge-threshold') }
        : {}),
    };
    if (typeof values.set === 'string' && typeof values.dictionaries === 'string')
      throw new InputError(`--set '${values.set}' and --dictionaries '${values.dictionaries}': give one of them`);
    const ids = typeof values.ids === 'string' ? readTokenFile(values.ids) : null;
    if (ids && ids.batch !== 1) throw new InputError(`--ids: ${ids.batch} sequences, expected one prompt [1, seq]`);
    await initBackend(backend);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    const bar = progressBar('attributing');
    try {
      const r = await attributeIntoStore({
        home: studioHome(),
        set: values.set as string | undefined,
        dictionaries:
          typeof values.dictionaries === 'string'
            ? values.dictionaries
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : undefined,
        model: values.model as string | undefined,
        prompt: values.prompt as string | undefined,
        ids: ids ? Array.from(ids.ids) : undefined,
        settings: settings as never,
        qk: {
          ...(numberOption(values, 'qk-tracing-topk') !== undefined
            ? { qk_tracing_topk: numberOption(values, 'qk-tracing-topk') }
            : {}),
          ...(numberOption(values, 'qk-top-fraction') !== undefined
            ? { qk_top_fraction: numberOption(values, 'qk-top-fraction') }
            : {}),
          ...(values['qk-ranking'] !== undefined ? { ranking: values['qk-ranking'] as 'signed' | 'abs' } : {}),
        },
        prune: prune as never,
        name: values.name as string | undefined,
        signal: controller.signal,
        onProgress: (phase, done, total) => bar.update(done, total, phase),
      });
      bar.done();
      writeFileSync(`${out}.tmp`, JSON.stringify(r.json));
      renameSync(`${out}.tmp`, out);
      const features = r.graph.nodes.filter((n) => n.kind === 'feature').length;
      process.stdout.write(
        `${JSON.stringify({
          graph: r.record.name,
          out,
          prompt_tokens: r.graph.promptIds.length,
          nodes: r.graph.nodes.length,
          features,
          kept_nodes: r.json.nodes.length,
          kept_links: r.json.links.length,
          replacement_score: r.scores.replacement,
          completeness_score: r.scores.completeness,
          seconds: Number(r.seconds.toFixed(2)),
          peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        })}\n`,
      );
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
