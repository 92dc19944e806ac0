// `sae-studio tokenize`: token ids of a text with a model's tokenizer, as a JSON array.
import { resolveModel } from '../../core/lm/load-model';
import { ModelTokenizer } from '../../core/lm/tokenizer';
import { requireOption, type Command } from '../command';

export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: "Print the token ids of a text under a model's tokenizer (tokenizer.json), as a JSON array.",
  usage: 'tokenize --model DIR|NAME --text STR [--no-special-tokens] [--tokens]',
  options: {
    model: { type: 'string', valueName: 'DIR|NAME', help: 'model folder, or a bundled model name (pdlm-4l-256)' },
    text: { type: 'string', valueName: 'STR', help: 'the text to tokenize' },
    'no-special-tokens': { type: 'boolean', help: "do not add the tokenizer's special tokens (e.g. a BOS)" },
    tokens: { type: 'boolean', help: 'print [{id, token}] instead of bare ids' },
  },
  async run(values) {
    const { dir } = resolveModel(requireOption(this, values, 'model'));
    const text = values.text;
    if (typeof text !== 'string') requireOption(this, values, 'text');
    const tok = ModelTokenizer.load(dir);
    const ids = tok.encode(text as string, { addSpecialTokens: !values['no-special-tokens'] });
    const out = values.tokens ? tok.tokenStrings(ids).map((token, i) => ({ id: ids[i], token })) : ids;
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
};
