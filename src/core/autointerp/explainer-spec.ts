// Which model explains: `local:MODEL_DIR` (a folder, or a bundled model's name) or `openai:BASE_URL` with a model
// id; and the chat model it opens.
import { InputError } from '../errors';
import type { ChatModel } from './chat-model';
import { LocalChatModel } from './local-chat-model';
import { checkBaseUrl, OpenAiChatModel } from './openai-chat-model';

export type ExplainerSpec = { backend: 'local'; model: string } | { backend: 'openai'; baseUrl: string; model: string };

/** `local:DIR` or `openai:URL` (with `model` for the latter); an InputError names the option and what it expects. */
export function parseExplainer(text: string, model: string | undefined, what = '--explainer'): ExplainerSpec {
  if (text.startsWith('local:')) {
    const dir = text.slice('local:'.length);
    if (dir === '') throw new InputError(`${what} 'local:' names no model folder, expected local:MODEL_DIR`);
    return { backend: 'local', model: dir };
  }
  if (text.startsWith('openai:')) {
    const baseUrl = checkBaseUrl(text.slice('openai:'.length), what);
    if (!model || model.trim() === '') throw new InputError(`${what} ${text} needs --model, the endpoint's model id`);
    return { backend: 'openai', baseUrl, model };
  }
  throw new InputError(`${what} '${text}': expected local:MODEL_DIR or openai:BASE_URL`);
}

/** Opens the explainer; a local model loads onto the active tfjs backend. */
export function openExplainer(spec: ExplainerSpec, apiKey: string | null, seed = 0): ChatModel {
  return spec.backend === 'local'
    ? LocalChatModel.load(spec.model, { seed })
    : new OpenAiChatModel({ baseUrl: spec.baseUrl, model: spec.model, apiKey });
}
