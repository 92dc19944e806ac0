// The bad-input table of safetensors files (see safetensors.cases.ts), run through the built CLI.
import { runBadInputTable } from './run-table';
import { SAFETENSORS_CASES } from './safetensors.cases';

runBadInputTable('safetensors', SAFETENSORS_CASES);
