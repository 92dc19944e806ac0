// The default prompts of lm-saes's auto-interpretation, verbatim: the explanation system prompt of
// llamascopium/analysis/autointerp/explanation_prompts.py generate_explanation_prompt (its examples inlined, its
// chain-of-thought steps at {cot_prompt}), and the detection and fuzzing system prompts of evaluation_prompts.py
// generate_detection_prompt / generate_fuzzing_prompt ({n_examples}: the number of examples shown).

export const LM_SAES_EXPLANATION_SYSTEM = [
  "We're studying features in a neural network. Each feature activates on some particular word/words/substring/concept in a short document. The activating words in each document are indicated with << ... >>. We will give you a list of documents on which the feature activates, in order from most strongly activating to least strongly activating.",
  '',
  'Your task is to:',
  '',
  "First, Summarize the Activation: Look at the parts of the document the feature activates for and summarize in a single sentence what the feature is activating on. Try not to be overly specific in your explanation. Note that some features will activate only on specific words or substrings, but others will activate on most/all words in a sentence provided that sentence contains some particular concept. Your explanation should cover most or all activating words (for example, don't give an explanation which is specific to a single word if all words in a sentence cause the feature to activate). Pay attention to things like the capitalization and punctuation of the activating words or concepts, if that seems relevant. Keep the explanation as short and simple as possible, limited to 20 words or less. Omit punctuation and formatting. You should avoid giving long lists of words.{cot_prompt}",
  '',
  "Second, Assess Activation Consistency: Based on your summary and the provided examples, evaluate the consistency of the feature's activation. Return your assessment as a single integer from the following scale:",
  '',
  '5: Clear pattern with no deviating examples',
  '4: Clear pattern with one or two deviating examples',
  '3: Clear overall pattern but quite a few examples not fitting that pattern',
  '2: Broad consistent theme but lacking structure',
  '1: No discernible pattern',
  '',
  'Third, Assess Feature Complexity: Based on your summary and the nature of the activation, evaluate the complexity of the feature. Return your assessment as a single integer from the following scale:',
  '',
  '5: Rich feature firing on diverse contexts with an interesting unifying theme, e.g., "feelings of togetherness"',
  '4: Feature relating to high-level semantic structure, e.g., "return statements in code"',
  '3: Moderate complexity, such as a phrase, category, or tracking sentence structure, e.g., "website URLs"',
  '2: Single word or token feature but including multiple languages or spelling, e.g., "mentions of dog"',
  '1: Single token feature, e.g., "the token \'(\'"',
  '',
  "Your output should be a JSON object that has the following fields: `steps`, `final_explanation`, `activation_consistency`, `complexity`. `steps` should be an array of strings with a length not exceeding 3, each representing a step in the chain-of-thought process. `final_explanation` should be a string in the form of 'This feature activates on... '. `activation_consistency` should be an integer between 1 and 5, representing the consistency of the feature. `complexity` should be an integer between 1 and 5, representing the complexity of the feature.",
  '',
  'Some examples:',
  '',
  '{',
  '    "steps": ["Activating token: <<knows>>. Contextual tokens: Who, ?. Pattern: <<knows>> is consistently activated, often found in sentences starting with interrogative words like \'Who\' and ending with a question mark.", "Shared features include consistent activation on the word \'knows\'. The surrounding text always forms a question. The questions do not seem to expect a literal answer, suggesting they are rhetorical.", "This feature activates on the word knows in rhetorical questions"],',
  '    "final_explanation": "The feature activates on the word \'knows\' in rhetorical questions.",',
  '    "activation_consistency": 5,',
  '    "complexity": 4',
  '}',
  '',
  '{',
  '    "steps": ["Activating tokens: <<Entwickler>>, <<Enterprise>>, <<Entertainment>>, <<Entity>>, <<Entrance>>. Pattern: All activating instances are on words that begin with the specific substring \'Ent\'. The activation is on the \'Ent\' portion itself.", "The shared feature across all examples is the presence of words starting with the capitalized substring \'Ent\'. The feature appears to be case-sensitive and position-specific (start of the word). No other contextual or semantic patterns are observed."],',
  '    "final_explanation": "The feature activates on the substring \'Ent\' at the start of words",',
  '    "activation_consistency": 5,',
  '    "complexity": 1',
  '}',
  '',
  '{',
  '    "steps": ["Activating tokens: <<budget deficit>>, <<interest rates>>, <<fiscal stimulus>>, <<trade policy>>, <<unemployment benefits>>. Pattern: Activations highlight phrases and concepts central to economic discussions and government actions.","The examples consistently involve discussions of economic indicators, government spending, financial regulation, or international trade agreements. While most activations clearly relate to economic policies enacted or debated by governmental bodies, some activations might be on broader economic news or expert commentary where the direct link to a specific government policy is less explicit, or on related but not identical topics like corporate financial health in response to policy."],',
  '    "final_explanation": "The feature activates on text about government economic policy",',
  '    "activation_consistency": 3,',
  '    "complexity": 5',
  '}',
  '',
  '',
  '',
].join('\n');

/** explanation_prompts.py: the steps added when cfg.include_cot. */
export const LM_SAES_COT_PROMPT = [
  '',
  '',
  'To explain this feature, please follow these steps:',
  'Step 1: List a couple activating and contextual tokens you find interesting. ' +
    "Search for patterns in these tokens, if there are any. Don't list more than 5 tokens.",
  'Step 2: Write down general shared features of the text examples.',
  'Step 3: Write a concise explanation of what this feature detects.',
  '',
].join('\n');

export const LM_SAES_DETECTION_SYSTEM = [
  "We're studying features in a neural network. Each feature activates on some particular word/words/substring/concept in a short document. You will be given a short explanation of what this feature activates for, and then be shown {n_examples} example sequences in random order. You will have to return a boolean list of the examples where you think the feature should activate at least once, on ANY of the words or substrings in the document, true if it does, false if it doesn't. Try not to be overly specific in your interpretation of the explanation.",
  'Your output should be a JSON object that has the following fields: `steps`, `evaluation_results`. `steps` should be an array of strings, each representing a step in the chain-of-thought process within 50 words. `evaluation_results` should be an array of booleans, each representing whether the feature should activate on the corresponding example.',
  '',
].join('\n');

export const LM_SAES_FUZZING_SYSTEM = [
  "We're studying features in a neural network. Each feature activates on some particular word/words/substring/concept in a short document. You will be given a short explanation of what this feature activates for, and then be shown {n_examples} example sequences in random order. In each example, text segments highlighted with << >> are presented as activating the feature as described in the explanation. You will have to return a boolean list of the examples where you think the highlighted parts CORRECTLY correspond to the explanation, true if they do, false if they don't. Try not to be overly specific in your interpretation of the explanation.",
  'Your output should be a JSON object that has the following fields: `steps`, `evaluation_results`. `steps` should be an array of strings, each representing a step in the chain-of-thought process within 50 words. `evaluation_results` should be an array of booleans, each representing whether the feature should activate on the corresponding example.',
  '',
].join('\n');
