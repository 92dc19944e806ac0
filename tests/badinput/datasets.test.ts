// The bad-input table of datasets and token-id files (see datasets.cases.ts), run through the built CLI.
import { DATASET_CASES } from './datasets.cases';
import { runBadInputTable } from './run-table';

runBadInputTable('datasets', DATASET_CASES);
