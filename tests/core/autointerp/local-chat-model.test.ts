// A local model folder as the explainer: its tokenizer_config.json chat template decides how the system and user
// messages become the prompt (ChatML here, on a copy of pdlm-4l-256 given a Qwen-style template), and the answer is
// the runner's greedy continuation of exactly that text; without a template the messages go as plain paragraphs.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CachedGenerator, LocalChatModel, renderChat } from '../../../src/core/autointerp';
import { loadModel } from '../../../src/core/lm/load-model';
import { ModelTokenizer } from '../../../src/core/lm/tokenizer';
import { initBackend } from '../../../src/core/tensor/backend';
import { PDLM_DIR } from '../../helpers/fixtures';

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const messages = [
  { role: 'system' as const, content: 'You explain features.' },
  { role: 'user' as const, content: 'Example 1: the <<cat>> sat' },
];
const opts = { maxTokens: 4, temperature: 0, json: true };

describe('a local model folder as the explainer', () => {
  let chatDir: string;
  beforeAll(async () => {
    await initBackend('cpu');
    chatDir = mkdtempSync(join(tmpdir(), 'chat-model-'));
    for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json'])
      copyFileSync(join(PDLM_DIR, f), join(chatDir, f));
    const cfg = JSON.parse(readFileSync(join(PDLM_DIR, 'tokenizer_config.json'), 'utf8')) as object;
    writeFileSync(join(chatDir, 'tokenizer_config.json'), JSON.stringify({ ...cfg, chat_template: CHATML }));
  });

  it('renders the messages with the folder’s chat template and continues that text greedily', async () => {
    const chat = LocalChatModel.load(chatDir);
    const { model } = loadModel(PDLM_DIR);
    const tokenizer = ModelTokenizer.load(PDLM_DIR);
    try {
      const expected = await new CachedGenerator(model, tokenizer).generate(renderChat('chatml', messages), {
        maxTokens: 4,
        temperature: 0,
        stopTokenIds: [0],
      });
      expect(await chat.complete(messages, opts)).toBe(expected);
      // The template matters: the same messages as plain paragraphs continue differently.
      const plain = await new CachedGenerator(model, tokenizer).generate(renderChat('plain', messages), {
        maxTokens: 4,
        temperature: 0,
        stopTokenIds: [0],
      });
      expect(plain).not.toBe(expected);
      expect(chat.model).toBe(chatDir.split('/').pop());
    } finally {
      chat.dispose();
      model.dispose();
    }
  });

  it('a folder without a chat template gets plain paragraphs', async () => {
    const chat = LocalChatModel.load('pdlm-4l-256');
    const { model } = loadModel(PDLM_DIR);
    const tokenizer = ModelTokenizer.load(PDLM_DIR);
    try {
      const expected = await new CachedGenerator(model, tokenizer).generate(
        'You explain features.\n\nExample 1: the <<cat>> sat\n\n',
        { maxTokens: 4, temperature: 0, stopTokenIds: [0] },
      );
      expect(await chat.complete(messages, opts)).toBe(expected);
      expect(chat.model).toBe('pdlm-4l-256');
    } finally {
      chat.dispose();
      model.dispose();
    }
  });
});
