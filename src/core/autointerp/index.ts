// Auto-interpretation of features as lm-saes does it: explanations from a feature's samples, scored by detection and
// fuzzing, written by a local model or an OpenAI-compatible endpoint.
export * from './autointerp-config';
export * from './binary-metrics';
export * from './chat-model';
export * from './chat-template';
export * from './explain-features';
export * from './explainer-spec';
export * from './feature-examples';
export * from './interpret-feature';
export * from './local-chat-model';
export * from './openai-chat-model';
export * from './parse-response';
export * from './prompt-store';
export * from './prompts';
export * from './scorers';
export * from './seeded-random';
export * from './text-generator';
export * from './tokenized-sample';
export * from './lm-saes-prompts';
