// A local instruct model folder as the explainer, run by SAE Studio's own runner: its chat template (see
// chat-template.ts), generation by the TextGenerator, nothing sent anywhere.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { loadModel } from '../lm/load-model';
import { ModelTokenizer } from '../lm/tokenizer';
import type { ChatMessage, ChatModel, ChatOptions } from './chat-model';
import { chatFormatOf, renderChat, type ChatFormat } from './chat-template';
import { CachedGenerator, type TextGenerator } from './text-generator';

/** config.json's eos_token_id (a number or a list). */
function eosIds(dir: string): number[] {
  try {
    const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { eos_token_id?: unknown };
    const v = raw.eos_token_id;
    return (Array.isArray(v) ? v : [v]).filter((x): x is number => Number.isInteger(x));
  } catch {
    return [];
  }
}

export class LocalChatModel implements ChatModel {
  readonly backend = 'local';
  private constructor(
    readonly model: string,
    private readonly lm: HookedTransformer,
    private readonly generator: TextGenerator,
    private readonly format: ChatFormat,
    private readonly stopTokenIds: number[],
    private readonly seed: number,
  ) {}

  /** Loads `ref` (a folder or a bundled model's name) on the active backend. */
  static load(
    ref: string,
    opts: { seed?: number; generator?: (lm: HookedTransformer, t: ModelTokenizer) => TextGenerator } = {},
  ): LocalChatModel {
    const { model, location } = loadModel(ref);
    const tokenizer = ModelTokenizer.load(location.dir);
    const format = chatFormatOf(location.dir);
    const stops = new Set(eosIds(location.dir));
    for (const text of format.stopTexts) {
      const ids = tokenizer.encode(text, { addSpecialTokens: false });
      if (ids.length === 1) stops.add(ids[0]!);
    }
    const generator = opts.generator?.(model, tokenizer) ?? new CachedGenerator(model, tokenizer);
    return new LocalChatModel(
      location.name ?? basename(location.dir),
      model,
      generator,
      format,
      [...stops],
      opts.seed ?? 0,
    );
  }

  get contextSize(): number {
    return this.lm.cfg.nCtx;
  }

  async complete(messages: ChatMessage[], opts: ChatOptions): Promise<string> {
    const prompt = renderChat(this.format.family, messages);
    const text = await this.generator.generate(prompt, {
      maxTokens: opts.maxTokens,
      temperature: opts.temperature,
      seed: this.seed,
      stopTokenIds: this.stopTokenIds,
      addSpecialTokens: !this.format.writesBos,
      signal: opts.signal,
    });
    return text;
  }

  dispose(): void {
    this.lm.dispose();
  }
}
