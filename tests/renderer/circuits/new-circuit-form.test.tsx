// @vitest-environment jsdom
// The "New circuit" form: lm-saes's setting names and server defaults, each bad value reported on its own field
// (thresholds outside (0, 1], counts that are not positive integers, an empty prompt, no set), Submit disabled
// until the form is valid, then the request handed to onSubmit; the preview shows the next-token probabilities.
import { cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  checkCircuitForm,
  defaultCircuitForm,
  toCircuitRequest,
  type NewCircuitRequest,
} from '../../../src/renderer/src/circuits/new-circuit-model';
import { NewCircuitForm } from '../../../src/renderer/src/circuits/NewCircuitForm';
import { renderWithStudio } from '../dom';

afterEach(cleanup);

describe('new circuit model', () => {
  it('starts from the lm-saes server defaults and turns a valid form into a request', () => {
    const form = { ...defaultCircuitForm('replacement'), prompt: 'The capital of France is' };
    expect(checkCircuitForm(form)).toEqual({});
    expect(toCircuitRequest(form)).toEqual({
      set: 'replacement',
      prompt: 'The capital of France is',
      settings: {
        max_feature_nodes: 256,
        desired_logit_prob: 0.98,
        max_n_logits: 1,
        batch_size: 10,
        node_threshold: 0.6,
        edge_threshold: 0.8,
        qk_tracing_topk: 10,
        qk_top_fraction: 0.6,
      },
    });
  });

  it('names each bad field in one line', () => {
    const form = defaultCircuitForm();
    form.settings = {
      ...form.settings,
      node_threshold: '0',
      edge_threshold: '1.5',
      batch_size: '2.5',
      max_n_logits: 'x',
    };
    expect(checkCircuitForm(form)).toEqual({
      set: 'choose the dictionary set that replaces the model',
      prompt: 'the prompt is empty',
      node_threshold: 'node_threshold must be in (0, 1], got 0',
      edge_threshold: 'edge_threshold must be in (0, 1], got 1.5',
      batch_size: 'batch_size must be an integer ≥ 1, got 2.5',
      max_n_logits: "max_n_logits must be a number, got 'x'",
    });
    expect(checkCircuitForm({ ...defaultCircuitForm('s'), prompt: 'abcdef' }, 5)).toEqual({
      prompt: 'the prompt has 6 characters, at most 5',
    });
    expect(() => toCircuitRequest(form)).toThrow('choose the dictionary set');
  });
});

describe('NewCircuitForm', () => {
  it('blocks Submit on a bad threshold, then hands the request to onSubmit', () => {
    const onSubmit = vi.fn<(r: NewCircuitRequest) => void>();
    const onPromptChange = vi.fn<(p: string) => void>();
    renderWithStudio(
      <NewCircuitForm
        sets={['replacement']}
        preview={[
          { token: ' Paris', prob: 0.41 },
          { token: ' the', prob: 0.12 },
        ]}
        onPromptChange={onPromptChange}
        onSubmit={onSubmit}
      />,
    );
    const submit = screen.getByTestId('circuit-submit') as HTMLButtonElement;
    expect(submit.disabled).toBe(true); // no prompt yet
    fireEvent.change(screen.getByTestId('circuit-prompt'), { target: { value: 'The capital of France is' } });
    expect(onPromptChange).toHaveBeenLastCalledWith('The capital of France is');
    expect(submit.disabled).toBe(false);
    expect(screen.getByTestId('next-token-probs').textContent).toContain('41.0%');

    fireEvent.change(screen.getByTestId('circuit-node_threshold'), { target: { value: '1.2' } });
    expect(screen.getByText('node_threshold must be in (0, 1], got 1.2')).toBeTruthy();
    expect(submit.disabled).toBe(true);
    fireEvent.change(screen.getByTestId('circuit-node_threshold'), { target: { value: '0.7' } });
    fireEvent.change(screen.getByTestId('circuit-max_feature_nodes'), { target: { value: '64' } });
    expect(submit.disabled).toBe(false);
    fireEvent.click(submit);
    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(onSubmit.mock.calls[0]![0]).toMatchObject({
      set: 'replacement',
      prompt: 'The capital of France is',
      settings: { node_threshold: 0.7, max_feature_nodes: 64, edge_threshold: 0.8 },
    });
  });

  it('asks for a set when the store has several', () => {
    renderWithStudio(<NewCircuitForm sets={['a', 'b']} preview={null} onSubmit={() => {}} />);
    expect(screen.getByText('choose the dictionary set that replaces the model')).toBeTruthy();
    expect(screen.queryByTestId('next-token-probs')).toBeNull();
  });
});
