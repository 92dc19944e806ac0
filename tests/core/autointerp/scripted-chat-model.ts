// A test double for the language model in scorer checks only: a chat model whose answers a test function writes
// from the prompt it is shown (an oracle that reads the examples, a coin, always yes). The pipeline tests use real
// models (pdlm-4l-256, an HTTP endpoint).
import type { ChatMessage, ChatModel, ChatOptions } from '../../../src/core/autointerp/chat-model';

export class ScriptedChatModel implements ChatModel {
  readonly backend = 'scripted';
  readonly calls: ChatMessage[][] = [];
  constructor(
    readonly model: string,
    private readonly answer: (system: string, user: string) => string,
  ) {}

  complete(messages: ChatMessage[], _opts: ChatOptions): Promise<string> {
    this.calls.push(messages);
    return Promise.resolve(this.answer(messages[0]!.content, messages[1]!.content));
  }

  dispose(): void {}
}

/** The "Example N: …" lines of a scorer's user prompt, in order. */
export function exampleLines(user: string): string[] {
  return user
    .split('\n')
    .filter((l) => /^Example \d+: /.test(l))
    .map((l) => l.replace(/^Example \d+: /, ''));
}

export const evaluationAnswer = (results: boolean[]) =>
  JSON.stringify({ steps: ['read the examples'], evaluation_results: results });
