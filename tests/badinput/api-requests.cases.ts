// Bad requests to `sae-studio serve`'s HTTP API: transport refusals (token, Origin, method, media type, size, JSON)
// and calls whose fields are wrong, unknown, or point outside the folders the studio may open. Each answer is a 4xx
// with one line of JSON error naming the culprit; the home and the store are left as they were.

export interface ApiCase {
  name: string;
  /** The path after the origin (default `api/<method>`). */
  path?: string;
  method?: string;
  /** The body: JSON-encoded unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Leave the Authorization header out. */
  noAuth?: boolean;
  status: number;
  /** A check method: it answers 200 with `{ ok: false, issues }`, the first issue naming the culprit. */
  check?: true;
  culprit: RegExp;
}

/** The folder given to serve with --allow is named ALLOWED in paths; the runner puts its real path there. */
export const ALLOWED = '<allowed>';

const call = (method: string, body: unknown, status: number, culprit: RegExp, name?: string): ApiCase => ({
  name: name ?? `${method} ${JSON.stringify(body).slice(0, 60)}`,
  path: `api/${method}`,
  body,
  status,
  culprit,
});

const check = (method: string, body: unknown, culprit: RegExp): ApiCase => ({
  ...call(method, body, 200, culprit),
  check: true,
});

export const API_CASES: ApiCase[] = [
  { name: 'no token', path: 'api/listRuns', body: {}, noAuth: true, status: 401, culprit: /session token/ },
  {
    name: 'a wrong token',
    path: 'api/listRuns',
    body: {},
    headers: { Authorization: 'Bearer nope' },
    status: 401,
    culprit: /session token/,
  },
  {
    name: 'a foreign Origin',
    path: 'api/listRuns',
    body: {},
    headers: { Origin: 'https://evil.example' },
    status: 403,
    culprit: /[Oo]rigin/,
  },
  { name: 'GET instead of POST', path: 'api/listRuns', method: 'GET', status: 405, culprit: /POST/ },
  {
    name: 'a text/plain body',
    path: 'api/listRuns',
    body: '{}',
    headers: { 'Content-Type': 'text/plain' },
    status: 415,
    culprit: /application\/json/,
  },
  {
    name: 'a body over 1 MiB',
    path: 'api/listRuns',
    body: 'x'.repeat(1024 * 1024 + 10),
    status: 413,
    culprit: /bytes|large/,
  },
  { name: 'a body that is not JSON', path: 'api/listRuns', body: '{"a": ', status: 400, culprit: /JSON/ },
  { name: 'an unknown method', path: 'api/dropEverything', body: {}, status: 404, culprit: /dropEverything/ },
  call('listFeatures', { dictionary: 7 }, 400, /field 'dictionary'/),
  call('listFeatures', { dictionary: 'seed', limitt: 5 }, 400, /limitt/),
  call('listFeatures', { dictionary: 'nope' }, 400, /nope/),
  call('listFeatures', { dictionary: 'seed', sort: 'price' }, 400, /field 'sort'/),
  call('getFeature', { dictionary: 'seed', index: -1 }, 400, /field 'index'/),
  call('getFeature', { dictionary: 'seed', index: 'a' }, 400, /field 'index'/),
  call('getFeature', { dictionary: 'seed', index: 99999 }, 400, /99999|index/),
  call('setInterpretation', { dictionary: 'nope', index: 0, text: 'x' }, 400, /nope/),
  call(
    'setInterpretation',
    { dictionary: 'seed', index: 0, text: 'x'.repeat(10_001) },
    400,
    /field 'text'/,
    'setInterpretation of 10,001 characters',
  ),
  call('setInterpretation', { dictionary: 'seed', index: 99999, text: 'x' }, 400, /99999|index/),
  call('addBookmark', { dictionary: 'seed', index: 0, tags: [''] }, 400, /field 'tags\.0'/),
  call('addBookmark', { dictionary: 'nope', index: 0 }, 400, /nope/),
  call('listBookmarks', { limit: 0 }, 400, /field 'limit'/),
  call('getRun', { id: 'no-such-run' }, 400, /no-such-run/),
  call('getRun', { id: 5 }, 400, /field 'id'/),
  call('cancelRun', { id: 7 }, 400, /field 'id'/),
  call('resumeRun', { id: '../../x' }, 400, /\.\.\/\.\.\/x|field 'id'/),
  call(
    'startTraining',
    {
      config: {
        name: '..',
        sae: { hook_point_in: 'blocks.0.hook_resid_post' },
        total_training_tokens: 1024,
        batch_size: 256,
      },
    },
    400,
    /field 'config\.name'/,
    "startTraining of a dictionary named '..'",
  ),
  call(
    'startTraining',
    {
      config: {
        sae: { hook_point_in: 'blocks.0.hook_resid_post', expansion_factor: 0.001 },
        total_training_tokens: 1024,
        batch_size: 256,
      },
    },
    400,
    /expansion_factor|d_sae/,
    'startTraining of a dictionary of 0 latents',
  ),
  call(
    'startTraining',
    {
      config: { sae: { hook_point_in: 'blocks.0.hook_resid_post' }, total_training_tokens: 1024, batch_size: 256 },
      runId: 'a/b',
    },
    400,
    /field 'runId'/,
    "startTraining with the run id 'a/b'",
  ),
  call('startTraining', { config: [] }, 400, /field 'config'/),
  call(
    'startTraining',
    {
      config: {
        sae: { hook_point_in: 'blocks.0.hook_resid_post', d_sae: 64 },
        context_size: 10_000,
        total_training_tokens: 1024,
        batch_size: 256,
      },
    },
    400,
    /field 'config\.context_size': is 10000, beyond the model's context of 256/,
    "startTraining with a context_size beyond the model's",
  ),
  check('previewDataset', { dataset: '/etc/passwd', model: 'pdlm-4l-256' }, /\/etc\/passwd: outside the folders/),
  check(
    'previewDataset',
    { dataset: `${ALLOWED}/missing.jsonl`, model: 'pdlm-4l-256' },
    /missing\.jsonl: no such file/,
  ),
  check(
    'previewDataset',
    { dataset: `${ALLOWED}/../escape.jsonl`, model: 'pdlm-4l-256' },
    /escape\.jsonl: outside the folders/,
  ),
  check('validateModelFolder', { path: '/etc' }, /\/etc: outside the folders/),
  check('validateModelFolder', { path: `${ALLOWED}/no-model` }, /no-model/),
  call('featuresOnText', { dictionary: 'seed', text: '' }, 400, /field 'text'/),
  call('featuresOnText', { dictionary: 'nope', text: 'hello' }, 400, /nope/),
  call('featuresOnText', { dictionary: '/etc', text: 'hello' }, 400, /field 'dictionary'|\/etc/),
  call('importGraph', { graph: {} }, 400, /graph/),
  call('getGraph', { name: 'no-such-graph' }, 400, /no-such-graph/),
  call('computeCircuit', { set: 'no-such-set', prompt: 'hi' }, 400, /no-such-set/),
  call('startAnalysis', { dictionary: 'nope' }, 400, /nope/),
  call('startAnalysis', { dictionary: 'seed', dataset: '/etc' }, 400, /\/etc/),
];
