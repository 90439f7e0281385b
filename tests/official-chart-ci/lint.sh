#!/usr/bin/env bash
# The official MLflow chart's own CI, job `lint`, run against this project's chart and its
# native renderer.
#
# Taken from the workflow `.github/workflows/helm.yml` of the public repository mlflow/mlflow at
# commit 003d4902d5b72d06e8b316ee2586061714969b64, job `lint`: its four steps ("Lint", "Render
# templates", "Render ServiceMonitor", "Render probes") are lint/*.sh, one file each with the
# step's commands as written there, run in `bash -eo pipefail` as GitHub runs a `shell: bash`
# step, from the repository root:
#   - with `helm` being helm 3.17 and then helm 4.1 (scripts/k8s-tools path v32 / v35);
#   - then lint-native/*.sh: the same checks against the native renderer,
#     `kubectl-mlflow-install mlflow --dry-run -o json|yaml` with the same --set flags. Its output
#     is JSON (or kubectl's YAML), not helm's text, so those checks read the same fields with
#     native.py instead of grepping.
# A check that differs on purpose says so at its line ("DIFFERS ON PURPOSE"); README.md lists
# them with the reason.
#
# Environment: KUBECTL_MLFLOW_INSTALL, the built kubectl-mlflow-install (default
# $CARGO_TARGET_DIR/debug/kubectl-mlflow-install). Exit code 0 when every step passes under
# every runner.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/official-chart-ci
install="${KUBECTL_MLFLOW_INSTALL:-${CARGO_TARGET_DIR:-$PWD/target}/debug/kubectl-mlflow-install}"
[ -x "$install" ] || { echo "official-chart-ci: $install is not built (cargo build -p kubectl-mlflow-install)" >&2; exit 2; }
export install here

# Runs each step file of a directory as GitHub runs a step, naming it.
steps() {
  local runner="$1" dir="$2" file
  for file in "$dir"/*.sh; do
    echo "  - $(sed -n '1s/^# //p' "$file")"
    if ! bash --noprofile --norc -eo pipefail "$file" >"$log" 2>&1; then
      cat "$log"
      echo "official-chart-ci: $file failed with $runner" >&2
      exit 1
    fi
  done
}

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for set in v32 v35; do
  bin="$(scripts/k8s-tools path "$set")"
  runner="helm $("$bin/helm" version --short)"
  echo "== official chart CI, job lint: $runner, charts/"
  PATH="$bin:$PATH" steps "$runner" "$here/lint"
done
echo "== official chart CI, job lint: the native renderer ($install --dry-run)"
# --dry-run reads no cluster; the namespace comes from the kubeconfig's context, as helm's does.
KUBECONFIG=/dev/null steps "kubectl-mlflow-install --dry-run" "$here/lint-native"
echo "== official chart CI, job lint: every step passed (mlflow/mlflow .github/workflows/helm.yml @ 003d4902d5b72d06e8b316ee2586061714969b64)"
