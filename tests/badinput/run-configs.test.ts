// The bad-input table of run configs (see run-configs.cases.ts), run through the built CLI.
import { RUN_CONFIG_CASES } from './run-configs.cases';
import { runBadInputTable } from './run-table';

runBadInputTable('run-configs', RUN_CONFIG_CASES);
