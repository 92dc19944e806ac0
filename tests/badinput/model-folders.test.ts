// The bad-input table of model folders (see model-folders.cases.ts), run through the built CLI.
import { MODEL_FOLDER_CASES } from './model-folders.cases';
import { runBadInputTable } from './run-table';

runBadInputTable('model-folders', MODEL_FOLDER_CASES);
