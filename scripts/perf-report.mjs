// Regenerates docs/performance.md from the raw benchmark runs in docs/perf-runs/ (written by
// scripts/perf-record.mjs): for each run name the newest run, as a table of its results with the command, the date
// and the machine. `npm run perf:report`; `--check` exits 1 when docs/performance.md is not what the runs give.
import { readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runsDir = join(root, 'docs', 'perf-runs');
const target = join(root, 'docs', 'performance.md');

/** Titles and one-line explanations of the runs we know, in the order they are shown; others follow by name. */
const KNOWN = [
  [
    'demo',
    'The main job: `sae-studio demo`',
    'Training (TopK SAE, k 32, 4096 latents, blocks.2.hook_resid_post of pdlm-4l-256, one pass over the corpus), evaluation on the validation windows and the feature analysis, from a fresh clone.',
  ],
  [
    'lm-vs-torch',
    'Activation generation and the full forward: SAE Studio against PyTorch on the same CPU',
    "pdlm-4l-256 on 16×256 windows, to blocks.2.hook_resid_post and with logits, both in one run (bench/lm-vs-torch.ts; PyTorch 1.13 from Debian on OpenBLAS — libopenblas0-pthread; the script refuses Debian's default reference BLAS — all cores, logits checked to 1e-4 first).",
  ],
  [
    'tokenize',
    'Tokenizing the embedded corpus: our byte-level BPE against @huggingface/tokenizers',
    'npm run bench:tokenize: the whole pdlm-corpus through the dataset tokenizer both ways, alternating, ids compared (docs/decisions/0091).',
  ],
  [
    'analysis-from-spool',
    "The feature analysis reading one LM pass's spooled rows, against the live analysis in the same run",
    "npm run bench:analysis -- --spool: the demo's analysis reads its training pass's activations instead of running the model (docs/decisions/0087).",
  ],
  [
    'fresh-machine',
    'A fresh machine: install, test, main job',
    "The README's commands from a scratch clone with a clean environment (docs/fresh-machine.md).",
  ],
  [
    'sae-step-wasm-own',
    'SAE training step on the CPU (wasm backend, native kernels, our own sgemm)',
    'Tokens per second of one training step, batch 4096 (bench/run.ts), on our own sgemm (the newest run: OpenBLAS not installed).',
  ],
  [
    'sae-step-wasm-openblas',
    'The same step with OpenBLAS linked',
    'As above, with the addon built against libopenblas-dev (OpenBLAS 0.3.21).',
  ],
  [
    'blas-step-paired',
    'The d 256 step with each BLAS, paired in one process',
    'Our sgemm and OpenBLAS alternating step by step (bench/blas-step.ts): separate runs on a shared 2-core host differ by 15–30%.',
  ],
  [
    'matmul-1thread',
    'sgemm: our own against OpenBLAS, one thread',
    'GFLOP/s on the SAE and LM shapes, both in one process, alternating (bench/matmul.ts); one thread, so that other load on the host weighs less.',
  ],
  ['matmul', 'sgemm: our own against OpenBLAS, two threads', 'As above on both cores.'],
  [
    'matmul-1thread-avx2',
    'sgemm: the AVX2 kernel against OpenBLAS, one thread',
    'Our 8-wide (ymm) kernel forced on this AVX-512 CPU: what an AVX2-only CPU gets.',
  ],
  [
    'quality',
    'SAE quality against PyTorch',
    'The reference recipe (tests/fixtures/reference/sae-quality.json) trained and evaluated (bench/quality.ts).',
  ],
  [
    'parity',
    'Hugging Face parity',
    'Largest relative error against transformers on each fixture architecture (bench/parity.ts).',
  ],
  [
    'gpu-h200-webgpu',
    'GPU: the TopK step and the LM forward on an H200 (WebGPU through Dawn)',
    'bench/gpu.ts on a bare NVIDIA host (docs/gpu-host.md).',
  ],
  [
    'gpu-h200-torch',
    'GPU: PyTorch on the same H200, same call',
    'bench/torch_sae_step.py, run right after the WebGPU bench.',
  ],
  [
    'attribute-16',
    'Attribution graph: a 16-token prompt on pdlm-4l-256 with the demo replacement set',
    '`sae-studio attribute` with default settings (max_feature_nodes 7500, batch 256, float32) on the first 16 tokens of a validation window (`--ids`), the set from `demo --recipe replacement` (a CLT on the four MLPs, a Lorsa per attention layer); time and peak resident memory of the whole command, QK tracing included.',
  ],
  [
    'attribute-256',
    "Attribution graph: a prompt filling pdlm-4l-256's whole 256-token context",
    'The same command on the first 256 tokens of a validation window (`--ids`).',
  ],
  [
    'attribute-1024-gpt2-small',
    'Attribution graph: 1,024 tokens on a random GPT-2-small-shaped model',
    "bench/attribute-large.ts: a randomly initialised model of GPT-2 small's shape (d 768, 12 layers, 12 heads, context 1024) with a per-layer transcoder of its size on every MLP, a 1,024-token prompt; time and peak resident memory in one process.",
  ],
  [
    'circuits-first-order',
    'Attribution edges against ablations in the real model',
    'bench/circuits-first-order.ts: for the 20 strongest feature edges into the top logit on four prompts, the demeaned top-logit change when the feature is removed from the real (unfrozen) model, against −edge weight (exact in the frozen replacement model).',
  ],
];

function latestRuns() {
  const byName = new Map();
  for (const file of readdirSync(runsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    let run;
    try {
      run = JSON.parse(readFileSync(join(runsDir, file), 'utf8'));
    } catch (err) {
      throw new Error(`docs/perf-runs/${file}: not JSON (${err.message})`);
    }
    for (const field of ['name', 'command', 'date', 'machine', 'output']) {
      if (run[field] === undefined) throw new Error(`docs/perf-runs/${file}: field "${field}" is missing`);
    }
    const prev = byName.get(run.name);
    if (!prev || prev.run.date < run.date) byName.set(run.name, { file, run });
  }
  return byName;
}

const isNumberRecord = (v) =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.keys(v).length > 0 &&
  Object.values(v).every((x) => typeof x === 'number');
const scalar = (v) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
const cell = (v) =>
  v === null || v === undefined
    ? '—'
    : typeof v === 'number'
      ? String(Number(v.toPrecision(6)))
      : JSON.stringify(String(v)).slice(1, -1).replaceAll('|', '\\|');

/** Nested objects one level down become columns of their own (`own.gflops`); arrays are left out. */
function flatten(row) {
  const out = {};
  for (const [k, v] of Object.entries(row)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) if (scalar(v2)) out[`${k}.${k2}`] = v2;
    } else out[k] = v;
  }
  return out;
}

function table(input) {
  const rows = input.map(flatten);
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r).filter((k) => scalar(r[k]))))];
  if (cols.length === 0) return [];
  return [
    `| ${cols.join(' | ')} |`,
    `|${cols.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cols.map((c) => cell(r[c])).join(' | ')} |`),
  ];
}

function section({ file, run }, title, about) {
  const m = run.machine;
  const machine =
    typeof m === 'string'
      ? m
      : [m.cpu, m.cores && `${m.cores} cores`, m.mem_gb && `${m.mem_gb} GiB`, m.node && `Node ${m.node}`]
          .filter(Boolean)
          .join(', ');
  const out = [
    `## ${title}`,
    '',
    ...(about ? [about, ''] : []),
    `- command: \`${run.command}\``,
    `- date: ${run.date.slice(0, 16).replace('T', ' ')} UTC · machine: ${machine} · raw run: [${file}](perf-runs/${file})`,
    '',
  ];
  const o = run.output;
  const facts = Object.entries(o).filter(([k, v]) => scalar(v) && k !== 'date');
  if (facts.length > 0) out.push(...table([Object.fromEntries(facts)]), '');
  for (const [k, v] of Object.entries(o)) {
    if (Array.isArray(v) && v.length > 0 && v.every((r) => r && typeof r === 'object' && !Array.isArray(r)))
      out.push(`**${k}**`, '', ...table(v), '');
    // A set of named numbers (the demo's seconds per phase, CPU seconds per phase, …): one row of its own.
    else if (isNumberRecord(v)) out.push(`**${k}**`, '', ...table([v]), '');
  }
  return out;
}

/**
 * The dictionary kinds side by side: every `kind-<recipe>` run (`sae-studio demo --recipe <recipe>`), one row each,
 * with its evaluation on held-out windows. Each run's own section follows below.
 */
function kindsSummary(runs) {
  const kinds = [...runs].filter(([name]) => name.startsWith('kind-')).sort();
  if (kinds.length === 0) return [];
  const num = (v, digits) => (typeof v === 'number' ? v.toFixed(digits) : '—');
  return [
    '## The dictionary kinds on pdlm-4l-256',
    '',
    'Small examples of every kind (`sae-studio demo --recipe NAME`, src/core/dictionary/recipes.ts), each evaluated on',
    "64 held-out windows of the embedded corpus (EV: mean over the kind's outputs of lm-saes's per-batch form; L0: per",
    'token, a CLT summed over its layers; CE loss recovered with every output spliced in, sequentially for',
    'replacements). `plt` is four per-layer transcoders of the same width and TopK per layer as `clt`, evaluated as one',
    'replacement; `sae-attn` an SAE of the same width and k as `lorsa` on the same hook_attn_out.',
    '',
    '| recipe | what | EV | EV per output | L0 | CE loss recovered | tokens | train s | date |',
    '|---|---|---|---|---|---|---|---|---|',
    ...kinds.map(([name, { run }]) => {
      const o = run.output;
      const e = o.evaluation ?? {};
      const perAxis = e.explained_variance_per_axis ?? (e.outputs ?? []).map((x) => x.explained_variance);
      return `| ${name.slice(5)} | ${o.description ?? ''} | ${num(e.explained_variance, 4)} | ${perAxis.map((v) => v.toFixed(3)).join(' / ') || '—'} | ${num(e.l0, 1)} | ${num(e.ce_loss_recovered, 4)} | ${o.train_tokens ?? '—'} | ${num(o.train_seconds, 0)} | ${run.date.slice(0, 16).replace('T', ' ')} |`;
    }),
    '',
  ];
}

const runs = latestRuns();
const lines = [
  '# Performance',
  '',
  'Generated by `npm run perf:report` from the newest raw run of each benchmark in [perf-runs/](perf-runs/) — do not edit',
  'by hand: record a run with `node scripts/perf-record.mjs NAME -- COMMAND…`, then regenerate. How these figures were',
  'reached is in [journal.md](journal.md).',
  '',
];
for (const [name, title, about] of KNOWN) if (runs.has(name)) lines.push(...section(runs.get(name), title, about));
lines.push(...kindsSummary(runs));
for (const [name, entry] of [...runs].sort())
  if (!KNOWN.some(([n]) => n === name)) lines.push(...section(entry, name, null));
const text = `${lines.join('\n').trimEnd()}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // a missing file is simply out of date
  }
  if (current !== text) {
    console.error('docs/performance.md is out of date: run npm run perf:report');
    process.exit(1);
  }
} else {
  writeFileSync(`${target}.tmp`, text);
  renameSync(`${target}.tmp`, target);
  console.error(`perf-report: docs/performance.md from ${runs.size} runs`);
}
