/**
 * The studio service's auto-interpretation methods: start an 'autointerp' job over a dictionary's features
 * (Supervisor.startExplain, the API key into the job's environment only), and read or change the prompt templates
 * kept in the home.
 */
import { OPENAI_KEY_ENV, parseFeatureSelection } from '../core/autointerp';
import { loadPromptTemplates, savePromptTemplates } from '../core/autointerp/prompt-store';
import { DEFAULT_PROMPT_TEMPLATES } from '../core/autointerp/prompts';
import type { StudioHome } from '../core/home';
import { getDictionary, type Store } from '../core/store';
import { ServiceError, type FieldIssue } from '../protocol/service-error';
import type { StudioServiceImpl } from '../protocol/studio-service';
import type { Supervisor } from './supervisor';

type ExplainMethods = Pick<StudioServiceImpl, 'startExplain' | 'getExplainPrompts' | 'setExplainPrompts'>;

export function explainMethods(deps: {
  store: Store;
  home: StudioHome;
  supervisor: Supervisor;
  refused: (refs: Record<string, string | null | undefined>) => FieldIssue[];
}): ExplainMethods {
  const { store, home, supervisor } = deps;
  const prompts = (templates = loadPromptTemplates(home)) => ({ templates, defaults: { ...DEFAULT_PROMPT_TEMPLATES } });
  return {
    startExplain: async ({ apiKey, ...request }) => {
      if (request.explainer.backend === 'local') {
        const outside = deps.refused({ 'explainer.model': request.explainer.model });
        if (outside.length > 0) throw ServiceError.invalidInput(outside);
      }
      const dict = getDictionary(store, request.dictionary);
      const features = parseFeatureSelection(request.features, Number(dict.config.d_sae), 'features');
      return supervisor.startExplain({ ...request, features }, apiKey ? { [OPENAI_KEY_ENV]: apiKey } : {});
    },
    getExplainPrompts: async () => prompts(),
    setExplainPrompts: async ({ templates }) => prompts(savePromptTemplates(home, templates)),
  };
}
