// The explainer as the pipeline sees it: a chat model that answers a system + user prompt with text. Two
// implementations: a local model folder run by our own runner (local-chat-model.ts) and an OpenAI-compatible
// endpoint (openai-chat-model.ts).

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatOptions {
  maxTokens: number;
  temperature: number;
  /** Ask for a JSON object (OpenAI's response_format json_object, as lm-saes asks for). */
  json: boolean;
  signal?: AbortSignal;
}

export interface ChatModel {
  /** 'local' or 'openai'. */
  readonly backend: string;
  /** The model that writes the answers (a folder's name, or the endpoint's model id). */
  readonly model: string;
  complete(messages: ChatMessage[], opts: ChatOptions): Promise<string>;
  dispose(): void;
}
