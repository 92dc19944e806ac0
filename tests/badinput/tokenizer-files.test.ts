// The bad-input table of tokenizer files (see tokenizer-files.cases.ts), run through the built CLI.
import { runBadInputTable } from './run-table';
import { TOKENIZER_CASES } from './tokenizer-files.cases';

runBadInputTable('tokenizer-files', TOKENIZER_CASES);
