// Checks the parts of a Hugging Face tokenizer.json that @huggingface/tokenizers takes on trust (its model type,
// vocab, merges and added tokens), so that a damaged file fails in one line naming the field rather than building a
// tokenizer that encodes garbage. The rules follow the Rust `tokenizers` crate's deserialisers.
import { InputError } from '../errors';

type Json = Record<string, unknown>;
type Fail = (field: string, v: unknown, expected: string) => never;

const MODEL_TYPES = ['BPE', 'WordPiece', 'Unigram'];

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const show = (v: unknown): string => (JSON.stringify(v) ?? String(v)).slice(0, 60);

/** The pair of a BPE merge, "a b" or ["a", "b"], or null when `m` is neither. */
function mergePair(m: unknown): [string, string] | null {
  if (typeof m === 'string') {
    const parts = m.split(' ');
    return parts.length === 2 && parts[0] !== '' && parts[1] !== '' ? [parts[0]!, parts[1]!] : null;
  }
  if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
  return null;
}

function checkVocab(model: Json, fail: Fail): void {
  if (model.type === 'Unigram' || Array.isArray(model.vocab)) {
    if (!Array.isArray(model.vocab)) fail('model.vocab', model.vocab, 'an array of [token, score] pairs');
    model.vocab.forEach((e: unknown, i) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number')
        fail(`model.vocab[${i}]`, e, 'a [token, score] pair');
    });
    return;
  }
  if (!isObject(model.vocab)) fail('model.vocab', model.vocab, 'an object {token: id}');
  for (const [token, id] of Object.entries(model.vocab)) {
    if (!isId(id)) fail(`model.vocab[${show(token)}]`, id, 'a token id (an integer >= 0)');
  }
}

function checkMerges(model: Json, fail: Fail): void {
  if (!Array.isArray(model.merges)) fail('model.merges', model.merges, 'an array of merges');
  const vocab = model.vocab as Json;
  model.merges.forEach((m: unknown, i) => {
    const pair = mergePair(m);
    if (!pair) fail(`model.merges[${i}]`, m, 'a pair of tokens ("a b" or ["a", "b"])');
    for (const token of [pair[0], pair[1], pair[0] + pair[1]]) {
      if (!(token in vocab)) fail(`model.merges[${i}]`, m, `tokens of the vocab ('${token}' is not in it)`);
    }
  });
}

/** Returns `json` when its model, vocab, merges and added tokens are well formed; throws an InputError otherwise. */
export function checkTokenizerJson(json: unknown, file: string): Json {
  const fail: Fail = (field, v, expected) => {
    throw new InputError(`${file}: field '${field}' is ${show(v)}, expected ${expected}`);
  };
  if (!isObject(json)) throw new InputError(`${file}: expected a JSON object with a 'model' field, got ${show(json)}`);
  const model = json.model;
  if (!isObject(model)) return fail('model', model, 'an object (the tokenizer model: BPE, WordPiece or Unigram)');
  if (model.type !== undefined && !MODEL_TYPES.includes(model.type as string))
    fail('model.type', model.type, `one of ${MODEL_TYPES.join(', ')}`);
  checkVocab(model, fail);
  if (model.type === 'BPE') checkMerges(model, fail);
  const added = json.added_tokens;
  if (added !== undefined && added !== null) {
    if (!Array.isArray(added)) fail('added_tokens', added, 'an array');
    added.forEach((t: unknown, i) => {
      if (!isObject(t) || !isId(t.id) || typeof t.content !== 'string')
        fail(`added_tokens[${i}]`, t, 'an object with an integer id and a string content');
    });
  }
  return json;
}
