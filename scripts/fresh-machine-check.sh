#!/usr/bin/env bash
# Replays a newcomer's first minutes, from a scratch clone of this repository's HEAD, with a clean environment (no
# variable set by hand; a new HOME with only the machine's ~/.npmrc, so npm's cache and the studio home start empty): the README's install command,
# its test command, then the main job. With --purge (root only) it first removes the system packages a fresh machine
# of the project's kind lacks (chromium, OpenBLAS, the Vulkan driver and loader), so `npm test` has to bring them.
# Writes OUTDIR/transcript.log and OUTDIR/summary.json (each step's exit code and seconds, the test summary line, the
# demo's JSON).
#   bash scripts/fresh-machine-check.sh OUTDIR [--purge] [-- DEMO ARGS…]
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: scripts/fresh-machine-check.sh OUTDIR [--purge] [-- DEMO ARGS…]}
shift
purge=0
if [ "${1:-}" = --purge ]; then purge=1; shift; fi
[ "${1:-}" = -- ] && shift
demo_args=("$@")
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/transcript.log
: > "$log"

if [ $purge = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "fresh-machine-check: --purge needs root" >&2; exit 2; }
  echo "== purge: chromium, OpenBLAS, Vulkan driver and loader" | tee -a "$log"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq chromium chromium-common libopenblas-dev libopenblas-pthread-dev \
    libopenblas0 libopenblas0-pthread mesa-vulkan-drivers libvulkan1 >> "$log" 2>&1
fi

scratch=$(mktemp -d)
git clone -q "$repo" "$scratch/sae-studio"
mkdir -p "$scratch/home"
# The machine's own npm settings come along (on this project's machines /root/.npmrc, part of the image, sets
# nodedir=/usr so that node-gyp builds better-sqlite3 against the installed Node headers instead of downloading
# them); the npm cache and the studio home start empty.
[ -f "$HOME/.npmrc" ] && cp "$HOME/.npmrc" "$scratch/home/.npmrc"
clean_env=(env -i "HOME=$scratch/home" "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin" "TERM=${TERM:-dumb}")

step() { # step NAME COMMAND… : runs it in the clone with the clean environment, appends to the log, records rc/seconds
  local name=$1
  shift
  echo "== $name: $*" | tee -a "$log"
  local t0=$SECONDS
  (cd "$scratch/sae-studio" && "${clean_env[@]}" "$@") > "$out/$name.stdout" 2> "$out/$name.stderr"
  local rc=$?
  cat "$out/$name.stderr" "$out/$name.stdout" >> "$log"
  echo "{\"rc\": $rc, \"seconds\": $((SECONDS - t0))}" > "$out/$name.status"
  echo "== $name: exit $rc in $((SECONDS - t0)) s" | tee -a "$log"
}

step npm-ci npm ci
step npm-test npm test
step demo npx sae-studio demo "${demo_args[@]}"

node - "$out" <<'JS'
const fs = require('fs');
const out = process.argv[2];
const status = (n) => JSON.parse(fs.readFileSync(`${out}/${n}.status`, 'utf8'));
const stdout = (n) => fs.readFileSync(`${out}/${n}.stdout`, 'utf8');
const testLine = stdout('npm-test').split('\n').filter((l) => /^\d+ passed, \d+ failed, \d+ skipped$/.test(l)).at(-1) ?? null;
const notices = stdout('npm-test').split('\n').filter((l) => /^(NOTICE|error):/.test(l));
let demo = null;
try { demo = JSON.parse(stdout('demo').trim().split('\n').at(-1)); } catch {}
const summary = { date: new Date().toISOString(), npm_ci: status('npm-ci'), npm_test: { ...status('npm-test'), summary: testLine, notices }, demo: { ...status('demo'), result: demo } };
fs.writeFileSync(`${out}/summary.json`, JSON.stringify(summary, null, 1) + '\n');
console.log(JSON.stringify(summary));
JS
rm -rf "$scratch"
