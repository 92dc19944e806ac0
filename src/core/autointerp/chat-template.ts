// Turning system + user messages into one prompt for a local model. Hugging Face keeps a model's chat template
// as Jinja in tokenizer_config.json; we recognise the template families of the architectures our runner supports
// (ChatML for Qwen, Llama 3's headers, Gemma's turns, Llama 2's [INST]) by their marker tokens and write the same
// text those templates produce with add_generation_prompt. A folder without a chat template (a base model, such as
// the bundled pdlm-4l-256) gets the messages as plain paragraphs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors';
import type { ChatMessage } from './chat-model';

export type ChatTemplateFamily = 'chatml' | 'llama3' | 'gemma' | 'llama2' | 'plain';

export interface ChatFormat {
  family: ChatTemplateFamily;
  /** Text markers that end a turn, to stop generation at. */
  stopTexts: string[];
  /** Whether the rendered prompt already holds the BOS (then the tokenizer adds no special tokens). */
  writesBos: boolean;
}

const FORMATS: Record<ChatTemplateFamily, ChatFormat> = {
  chatml: { family: 'chatml', stopTexts: ['<|im_end|>', '<|endoftext|>'], writesBos: false },
  llama3: { family: 'llama3', stopTexts: ['<|eot_id|>', '<|end_of_text|>'], writesBos: true },
  gemma: { family: 'gemma', stopTexts: ['<end_of_turn>', '<eos>'], writesBos: true },
  llama2: { family: 'llama2', stopTexts: ['</s>'], writesBos: true },
  plain: { family: 'plain', stopTexts: [], writesBos: false },
};

function readTemplate(dir: string): string | null {
  const file = join(dir, 'tokenizer_config.json');
  if (!existsSync(file)) return null;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new InputError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const t = raw.chat_template;
  if (typeof t === 'string') return t;
  // A list of named templates: the default one.
  if (Array.isArray(t)) {
    const named = t.find((x) => (x as { name?: string }).name === 'default') as { template?: unknown } | undefined;
    return typeof named?.template === 'string' ? named.template : null;
  }
  return null;
}

export function chatTemplateFamily(template: string | null): ChatTemplateFamily {
  if (template === null) return 'plain';
  if (template.includes('<|im_start|>')) return 'chatml';
  if (template.includes('<|start_header_id|>')) return 'llama3';
  if (template.includes('<start_of_turn>')) return 'gemma';
  if (template.includes('[INST]')) return 'llama2';
  return 'plain';
}

export function chatFormatOf(modelDir: string): ChatFormat {
  return FORMATS[chatTemplateFamily(readTemplate(modelDir))];
}

export function renderChat(family: ChatTemplateFamily, messages: readonly ChatMessage[]): string {
  const system = messages
    .filter((m) => m.role === 'system')
    .map((m) => m.content)
    .join('\n\n');
  const turns = messages.filter((m) => m.role !== 'system');
  switch (family) {
    case 'chatml':
      return (
        (system ? `<|im_start|>system\n${system}<|im_end|>\n` : '') +
        turns.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') +
        '<|im_start|>assistant\n'
      );
    case 'llama3':
      return (
        '<|begin_of_text|>' +
        [...(system ? [{ role: 'system', content: system }] : []), ...turns]
          .map((m) => `<|start_header_id|>${m.role}<|end_header_id|>\n\n${m.content.trim()}<|eot_id|>`)
          .join('') +
        '<|start_header_id|>assistant<|end_header_id|>\n\n'
      );
    case 'gemma':
      // Gemma has no system role: its template puts the system text at the start of the first user turn.
      return (
        '<bos>' +
        turns
          .map((m, i) => {
            const text = i === 0 && system ? `${system}\n\n${m.content}` : m.content;
            return `<start_of_turn>${m.role === 'assistant' ? 'model' : 'user'}\n${text.trim()}<end_of_turn>\n`;
          })
          .join('') +
        '<start_of_turn>model\n'
      );
    case 'llama2': {
      const [first, ...rest] = turns;
      const head = `<s>[INST] ${system ? `<<SYS>>\n${system}\n<</SYS>>\n\n` : ''}${first?.content.trim() ?? ''} [/INST]`;
      return (
        head +
        rest
          .map((m) => (m.role === 'user' ? `<s>[INST] ${m.content.trim()} [/INST]` : ` ${m.content.trim()} </s>`))
          .join('')
      );
    }
    case 'plain':
      return `${[system, ...turns.map((m) => m.content)].filter(Boolean).join('\n\n')}\n\n`;
  }
}
