// How samples are shown (lm-saes's samples.py display functions), how chat prompts are rendered for local models,
// and how answers are read back, chatter and slips included.
import { describe, expect, it } from 'vitest';
import {
  AnswerError,
  chatTemplateFamily,
  displayHighlighted,
  displayMax,
  displayNext,
  displayPlain,
  parseEvaluation,
  parseExplanation,
  processToken,
  renderChat,
  type TokenizedSample,
} from '../../../src/core/autointerp';

const sample: TokenizedSample = {
  segments: [
    { text: 'Who', activation: 0 },
    { text: ' am', activation: 1 },
    { text: ' I', activation: 9 },
    { text: '\n', activation: 0 },
    { text: ' knows', activation: 7.5 },
    { text: '?', activation: 0 },
  ],
  maxActivation: 10,
};

describe('showing samples as lm-saes does', () => {
  it('highlights tokens above threshold × the feature maximum with << >>', () => {
    expect(displayHighlighted(sample, 0.7)).toBe('Who am<< I>>\n<< knows>>?');
    expect(displayHighlighted(sample, 0.8)).toBe('Who am<< I>>\n knows?');
    expect(displayPlain(sample)).toBe('Who am I\n knows?');
  });

  it('lists activating tokens after their 3 preceding tokens, and the token after', () => {
    expect(displayMax(sample, 0.7)).toBe('(Who am)  I\n( am I⏎)  knows\n');
    expect(displayNext(sample, 0.7)).toBe('?\n');
    expect(processToken('a\tb\r\n')).toBe('a→b↵⏎');
  });
});

describe('reading answers', () => {
  it('finds the explanation object inside chatter and code fences, with slips repaired', () => {
    const e = parseExplanation(
      'Here you go:\n```json\n{"steps": ["a", "b",], "final_explanation": "The feature activates on dates", "activation_consistency": 4, "complexity": 2}\n```\nHope it helps {not json}',
    );
    expect(e).toEqual({
      finalExplanation: 'The feature activates on dates',
      activationConsistency: 4,
      complexity: 2,
      steps: ['a', 'b'],
      parsed: true,
    });
  });

  it('takes a plain-text answer’s first line as the explanation (lm-saes’s plain-text explainers), empty is an error', () => {
    expect(parseExplanation('\n  dates and times\nmore').finalExplanation).toBe('dates and times');
    expect(parseExplanation('dates').parsed).toBe(false);
    expect(() => parseExplanation('  \n ')).toThrow(AnswerError);
  });

  it('reads evaluation_results, pads with false and cuts to n as lm-saes does', () => {
    expect(parseEvaluation('ok {"steps": [], "evaluation_results": [true, False, "yes"]} done', 5)).toEqual([
      true,
      false,
      true,
      false,
      false,
    ]);
    expect(parseEvaluation('{"evaluation_results": [true, true, true]}', 2)).toEqual([true, true]);
    expect(parseEvaluation('evaluation_results = [true, false]', 2)).toEqual([true, false]);
  });

  it('an answer without the booleans is a one-line AnswerError naming what was expected', () => {
    expect(() => parseEvaluation('Examples 1 and 2 activate.\nThe rest do not.', 4)).toThrow(
      /^scorer answer 'Examples 1 and 2 activate\. The rest do not\.': expected a JSON object with `evaluation_results`, an array of 4 booleans$/,
    );
    expect(() => parseEvaluation('{"evaluation_results": [true, "maybe"]}', 2)).toThrow(
      /evaluation_results\[1\] is '"maybe"', expected true or false/,
    );
  });
});

describe('chat prompts for local models', () => {
  const messages = [
    { role: 'system' as const, content: 'SYS' },
    { role: 'user' as const, content: 'USER' },
  ];

  it('recognises the template families by their markers', () => {
    expect(chatTemplateFamily("{% for m in messages %}<|im_start|>{{ m['role'] }}")).toBe('chatml');
    expect(chatTemplateFamily('<|start_header_id|>')).toBe('llama3');
    expect(chatTemplateFamily('<start_of_turn>')).toBe('gemma');
    expect(chatTemplateFamily(null)).toBe('plain');
  });

  it('writes what the families’ templates write with add_generation_prompt', () => {
    expect(renderChat('chatml', messages)).toBe(
      '<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nUSER<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(renderChat('llama3', messages)).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nSYS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nUSER<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect(renderChat('gemma', messages)).toBe(
      '<bos><start_of_turn>user\nSYS\n\nUSER<end_of_turn>\n<start_of_turn>model\n',
    );
    expect(renderChat('plain', messages)).toBe('SYS\n\nUSER\n\n');
  });
});
