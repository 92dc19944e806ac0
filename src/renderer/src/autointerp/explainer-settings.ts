// The explainer settings the Explain forms share during a session. The endpoint's API key lives in this module's
// memory only: never in localStorage, the URL or the store; it is sent with startExplain and forgotten on reload.
import type { StudioRequest } from '../../../protocol/studio-service';

export type ScorerName = 'detection' | 'fuzzing';

export interface ExplainerSettings {
  backend: 'local' | 'openai';
  localModel: string;
  baseUrl: string;
  model: string;
  apiKey: string;
  scorers: ScorerName[];
  maxTokens: number;
  temperature: number;
}

let current: ExplainerSettings = {
  backend: 'local',
  localModel: 'pdlm-4l-256',
  baseUrl: 'https://api.openai.com/v1',
  model: 'gpt-4o-mini',
  apiKey: '',
  scorers: ['detection', 'fuzzing'],
  maxTokens: 512,
  temperature: 0,
};

export function explainerSettings(): ExplainerSettings {
  return current;
}

export function rememberExplainerSettings(s: ExplainerSettings): void {
  current = s;
}

/** The startExplain request for `features` ('all', '0-99', '12') with these settings. */
export function explainRequest(
  dictionary: string,
  features: string,
  s: ExplainerSettings,
  overwriteExisting: boolean,
): StudioRequest<'startExplain'> {
  return {
    dictionary,
    features,
    explainer:
      s.backend === 'local'
        ? { backend: 'local', model: s.localModel }
        : { backend: 'openai', baseUrl: s.baseUrl, model: s.model },
    ...(s.backend === 'openai' && s.apiKey !== '' ? { apiKey: s.apiKey } : {}),
    settings: {
      scorers: s.scorers,
      maxTokens: s.maxTokens,
      temperature: s.temperature,
      overwriteExisting,
      seed: 42,
    },
  };
}
