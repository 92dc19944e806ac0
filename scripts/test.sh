#!/usr/bin/env bash
# The project's test command (`npm test`): the system packages the suites need (installed when it may: root with
# apt-get), a probe of the test environment (a notice per suite that will skip, an error under CI=true), lint and
# format, type-check, build (electron-vite: main, preload, renderer; the CLI bundle), the vitest suites (unit,
# integration, component), then the end-to-end suite in chromium against the built `sae-studio serve`; ends with
# one line "N passed, N failed, N skipped" counted from vitest's JSON reports.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p tests/.artifacts
unit=tests/.artifacts/vitest-report.json
e2e=tests/.artifacts/vitest-e2e-report.json
rm -f "$unit" "$e2e"

status=0
echo "== system packages (Mesa >= 25 for WebGPU on the CPU, chromium)"
bash scripts/install-system-deps.sh || echo "NOTICE: system packages could not be installed; the suites that need them will say so below"
echo "== test environment"
node scripts/test-environment.mjs 2>/dev/null || status=1
echo "== lint and format"
npm run --silent lint || status=1
node scripts/perf-report.mjs --check || status=1 # docs/performance.md is what docs/perf-runs/ gives
echo "== typecheck"
npm run --silent typecheck || status=1
echo "== build (electron-vite, CLI bundle)"
npx electron-vite build --logLevel warn || status=1
node scripts/build-cli.mjs || status=1
echo "== vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json="$unit" "$@" || status=1
echo "== end-to-end (chromium)"
npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile.json="$e2e" || status=1

node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) { failed += 1; console.log(`${f}: no report (the suite did not run)`); continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += (r.numPendingTests || 0) + (r.numTodoTests || 0);
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$unit" "$e2e" || status=1
exit $status
