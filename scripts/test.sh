#!/usr/bin/env bash
# The project's test command (`npm test`): type-check, the vitest suites, and the electron-vite build; ends with
# one line "N passed, N failed, N skipped" counted from vitest's JSON report.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p tests/.artifacts
report=tests/.artifacts/vitest-report.json
rm -f "$report"

status=0
echo "== typecheck"
npm run --silent typecheck || status=1
echo "== vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=1
echo "== electron-vite build"
ELECTRON_SKIP_BINARY_DOWNLOAD=1 npx electron-vite build --logLevel warn || status=1

if [ -f "$report" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests || 0) + (r.numTodoTests || 0);
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  ' "$report"
else
  echo "0 passed, 1 failed"
  status=1
fi
exit $status
