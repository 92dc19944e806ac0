// @vitest-environment jsdom
// The graph view in a DOM, with the real studio service behind it (a temporary store holding a transcoder's
// analysis and an interpretation): hovering a feature shows its card with the store's interpretation and samples,
// clicks pin, the node slider hides what it should, checked pins become a named supernode, the pinned subgraph gets
// its scores, and the Lorsa node's QK tracing resolves its contributors (one through qk_only_nodes).
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { saveAnalysis, setInterpretation } from '../../../src/core/store';
import { GraphJsonSchema } from '../../../src/protocol/circuits/graph-json';
import { toViewGraph } from '../../../src/renderer/src/circuits/graph-model';
import { GraphView } from '../../../src/renderer/src/circuits/GraphView';
import { syntheticAnalysis } from '../../core/store/helpers';
import { createStudioFixture, type StudioFixture } from '../../engine/studio-fixture';
import { fixtureGraphJson } from '../../helpers/graph-json-fixture';
import { renderWithStudio } from '../dom';

let f: StudioFixture;
beforeAll(() => {
  f = createStudioFixture();
  saveAnalysis(f.store, syntheticAnalysis({ dictionaryName: 'tc-l3', dSae: 512, featureIndices: [9, 55, 101] }));
  setInterpretation(f.store, 'tc-l3', 101, 'says Paris after a capital question');
});
afterAll(async () => {
  await f.close();
});
afterEach(cleanup);

const node = (id: string) => document.querySelector(`[data-node-id="${id}"]`)!;
const counts = () => screen.getByTestId('graph-counts').textContent ?? '';

function renderView() {
  const graph = toViewGraph(GraphJsonSchema.parse(fixtureGraphJson()));
  renderWithStudio(<GraphView graph={graph} dictionaries={[{ layer: 3, sublayer: 'mlp', name: 'tc-l3' }]} />, f.client);
  return graph;
}

describe('GraphView', () => {
  it("shows a hovered feature's card with the store's interpretation and top samples", async () => {
    renderView();
    fireEvent.mouseEnter(node('3_cro_101_4'));
    expect(screen.getByTestId('node-card-label').textContent).toBe('say "Paris"');
    const card = await screen.findByTestId('node-card-feature', {}, { timeout: 10_000 });
    await waitFor(() => expect(card.textContent).toContain('says Paris after a capital question'));
    expect(within(card).getByRole('link').getAttribute('href')).toBe('#/dictionaries/tc-l3/features/101');
    expect(card.querySelectorAll('.token-text').length).toBeGreaterThan(0);
    // A feature of a dictionary the store does not have says so instead.
    fireEvent.mouseEnter(node('2_cro_300_4'));
    expect(screen.getByTestId('node-card').textContent).toContain('not in the store');
  });

  it('pins on click, keeps pinned nodes past the node threshold, and groups pins into a named supernode', async () => {
    renderView();
    // At the graph's own threshold (0.8) the dead-end feature is hidden.
    expect(counts()).toMatch(/^16 of 30 nodes/);
    expect(node('3_cro_9_1')).toBeNull();
    fireEvent.click(node('3_cro_101_4'));
    fireEvent.click(node('2_cro_300_4'));
    expect(node('3_cro_101_4').getAttribute('data-pinned')).toBe('true');
    expect(screen.getAllByTestId('pinned-row')).toHaveLength(2);
    // The subgraph scores of the pinned set are in (0, 1].
    const replacement = Number(/[\d.]+$/.exec(screen.getByTestId('score-replacement').textContent ?? '')?.[0]);
    const completeness = Number(/[\d.]+$/.exec(screen.getByTestId('score-completeness').textContent ?? '')?.[0]);
    expect(replacement).toBeGreaterThan(0);
    expect(replacement).toBeLessThanOrEqual(1);
    expect(completeness).toBeGreaterThan(0);
    expect(completeness).toBeLessThanOrEqual(1);

    // The node slider at its minimum: embeddings, logits and the two pins remain.
    const thumb = within(screen.getByTestId('node-threshold')).getByRole('slider');
    fireEvent.keyDown(thumb, { key: 'Home' });
    await waitFor(() => expect(counts()).toMatch(/^10 of 30 nodes/));
    expect(node('3_cro_101_4')).not.toBeNull();
    expect(node('3_lor_2_4')).toBeNull();

    for (const box of screen.getAllByRole('checkbox')) fireEvent.click(box);
    fireEvent.change(screen.getByTestId('supernode-name'), { target: { value: 'say a capital' } });
    fireEvent.click(screen.getByTestId('make-supernode'));
    expect(screen.getByTestId('supernode-row').textContent).toContain('say a capital');
    expect(document.querySelector('.graph-supernode text')?.textContent).toBe('say a capital');
    // Unpinning a member dissolves the two-node supernode's membership.
    fireEvent.click(node('2_cro_300_4'));
    expect(screen.getAllByTestId('pinned-row')).toHaveLength(1);
  });

  it("shows the Lorsa node's QK tracing with its contributors resolved", () => {
    renderView();
    fireEvent.mouseEnter(node('2_lor_7_4'));
    const panel = screen.getByTestId('qk-panel');
    expect(within(panel).getByTestId('qk-q').textContent).toContain('"is" after a noun phrase @4');
    expect(within(panel).getByTestId('qk-k').textContent).toContain('country names @3'); // from qk_only_nodes
    expect(within(panel).getByTestId('qk-pairs').querySelectorAll('tr')).toHaveLength(3);
    // Hovering a pair marks both of its nodes in the graph.
    fireEvent.mouseEnter(within(panel).getByTestId('qk-pairs').querySelectorAll('tr')[0]!);
    expect(node('1_cro_8_4').querySelectorAll('circle').length).toBe(2);
    expect(node('0_cro_40_3').querySelectorAll('circle').length).toBe(2);
  });

  it('lists the next-token probabilities from the logit nodes', () => {
    renderView();
    const text = screen.getByTestId('next-token-probs').textContent ?? '';
    expect(text.indexOf('Paris')).toBeLessThan(text.indexOf('the'));
    expect(text).toContain('41.2%');
    expect(text).toContain('12.1%');
  });
});
