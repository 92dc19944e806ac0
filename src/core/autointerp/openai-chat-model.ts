// An OpenAI-compatible endpoint as the explainer: POST {baseUrl}/chat/completions with the model, the messages,
// temperature, max_tokens and (as lm-saes asks) response_format json_object. The API key travels only in the
// Authorization header; it is held in memory, never written, and never part of an error message.
import { InputError } from '../errors';
import type { ChatMessage, ChatModel, ChatOptions } from './chat-model';

export const OPENAI_KEY_ENV = 'SAE_STUDIO_OPENAI_API_KEY';

export interface OpenAiEndpoint {
  /** e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1 */
  baseUrl: string;
  model: string;
  apiKey: string | null;
  /** Per request (default 120 s). */
  timeoutMs?: number;
}

export function checkBaseUrl(baseUrl: string, what: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new InputError(`${what} '${baseUrl}' is not a URL, expected e.g. https://api.openai.com/v1`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InputError(`${what} '${baseUrl}': expected an http:// or https:// URL`);
  if (url.username || url.password)
    throw new InputError(`${what}: put the API key in ${OPENAI_KEY_ENV}, not in the URL`);
  return baseUrl.replace(/\/+$/, '');
}

export class OpenAiChatModel implements ChatModel {
  readonly backend = 'openai';
  readonly model: string;
  private readonly url: string;
  readonly #apiKey: string | null;
  private readonly timeoutMs: number;

  constructor(endpoint: OpenAiEndpoint) {
    this.url = `${checkBaseUrl(endpoint.baseUrl, 'base URL')}/chat/completions`;
    if (endpoint.model.trim() === '') throw new InputError("model: empty, expected the endpoint's model id");
    this.model = endpoint.model;
    this.#apiKey = endpoint.apiKey;
    this.timeoutMs = endpoint.timeoutMs ?? 120_000;
  }

  private redact(text: string): string {
    return this.#apiKey ? text.split(this.#apiKey).join('[key]') : text;
  }

  async complete(messages: ChatMessage[], opts: ChatOptions): Promise<string> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    const body = {
      model: this.model,
      messages,
      temperature: opts.temperature,
      max_tokens: opts.maxTokens,
      ...(opts.json ? { response_format: { type: 'json_object' } } : {}),
    };
    const signals = [AbortSignal.timeout(this.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new Error(this.redact(`${this.url}: request failed (${(err as Error).message})`));
    }
    const text = await res.text();
    if (!res.ok)
      throw new Error(this.redact(`${this.url}: HTTP ${res.status} (${text.replace(/\s+/g, ' ').slice(0, 200)})`));
    let content: unknown;
    try {
      content = (JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message
        ?.content;
    } catch {
      content = undefined;
    }
    if (typeof content !== 'string')
      throw new Error(`${this.url}: the answer has no choices[0].message.content string`);
    return content;
  }

  dispose(): void {}
}
