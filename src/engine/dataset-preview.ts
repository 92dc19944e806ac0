/** The wizard's dataset check: opens the dataset as training would, and tokenizes its first documents. */
import { openDataset } from '../core/data/sources/open-dataset';
import { isInputError } from '../core/errors';
import { resolveModel } from '../core/lm/load-model';
import { ModelTokenizer } from '../core/lm/tokenizer';
import type { DatasetPreview } from '../protocol/system';
import { oneLine } from '../protocol/service-dispatch';

export async function previewDataset(req: {
  dataset: string;
  model: string;
  samples: number;
  maxTokens: number;
}): Promise<DatasetPreview> {
  let tokenizer: ModelTokenizer;
  try {
    tokenizer = ModelTokenizer.load(resolveModel(req.model).dir);
  } catch (err) {
    if (!isInputError(err)) throw err;
    return { ok: false, issues: [{ field: 'model', message: oneLine(err) }] };
  }
  try {
    const source = openDataset(req.dataset);
    const samples: { id: string; tokens: string[]; totalTokens: number }[] = [];
    for await (const doc of source.documents()) {
      if (doc.text.trim() === '') continue;
      const ids = tokenizer.encode(doc.text.slice(0, 20_000), { addSpecialTokens: false });
      samples.push({
        id: doc.id,
        tokens: tokenizer.tokenStrings(ids.slice(0, req.maxTokens)),
        totalTokens: ids.length,
      });
      if (samples.length >= req.samples) break;
    }
    if (samples.length === 0)
      return {
        ok: false,
        issues: [{ field: 'dataset', message: `${req.dataset}: no text in it (every document is empty)` }],
      };
    return { ok: true, kind: source.kind, files: source.files.length, samples };
  } catch (err) {
    if (!isInputError(err)) throw err;
    return { ok: false, issues: [{ field: 'dataset', message: oneLine(err) }] };
  }
}
