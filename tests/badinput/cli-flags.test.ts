// The bad-input table of command lines (see cli-flags.cases.ts), run through the built CLI.
import { CLI_FLAG_CASES } from './cli-flags.cases';
import { runBadInputTable } from './run-table';

runBadInputTable('cli-flags', CLI_FLAG_CASES);
