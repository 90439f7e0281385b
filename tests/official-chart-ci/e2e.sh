#!/usr/bin/env bash
# The official MLflow chart's own CI, job `e2e`, run on this project's real node against its chart
# (helm) and against `kubectl mlflow install`.
#
# Taken from the workflow `.github/workflows/helm.yml` of the public repository mlflow/mlflow at
# commit 003d4902d5b72d06e8b316ee2586061714969b64, job `e2e` (matrix tls: [false, true]). Each leg
# runs its steps (e2e-steps.sh, in `bash -eo pipefail` as GitHub runs a `shell: bash` step) with
# the commands as written there, in order:
#   "Create Kind cluster"      the running real node of scripts/test-cluster (kubelet, containerd):
#                              reused, each leg in a namespace of its own, set as the context's
#                              namespace of a copy of the kubeconfig, so the commands run unchanged
#   "Get MLflow version"       as written: appVersion of charts/Chart.yaml
#   "Build Docker image"       scripts/node-images builds MLflow's slim image from MLflow's
#   "Load image into Kind"     docker/Dockerfile recipe at that version (ghcr.io/mlflow/mlflow:
#                              v<appVersion>) and `up --real` imports it under the workflow's name
#                              mlflow:ci too (the same layers, no second build); this step checks
#                              that the node has it under both names
#   "Generate TLS certificate" as written (tls=true)
#   "Deploy chart"             as written (`helm install mlflow charts/ ... --wait --timeout 5m`),
#                              and in the plugin's legs the same flags to `kubectl mlflow install`
#   "Verify MLflow is reachable"  as written, but for the local port: DIFFERS ON PURPOSE, the port
#                              is a free one instead of 5000 (this machine is shared: another
#                              test's port-forward may hold 5000)
#   "Print container logs"     as written, always
#
# Usage: e2e.sh [LEG...], a leg being helm-tls=false, helm-tls=true, plugin-tls=false or
# plugin-tls=true (default: all four, one after another).
# Environment: KMLF_TEST_KUBECONFIG (the kubeconfig of a running `scripts/test-cluster up --real`),
# KUBECTL_MLFLOW_INSTALL (the built kubectl-mlflow-install; `kubectl mlflow install` runs it as a
# kubectl plugin from its directory; default $CARGO_TARGET_DIR/debug/kubectl-mlflow-install).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
install="${KUBECTL_MLFLOW_INSTALL:-${CARGO_TARGET_DIR:-$PWD/target}/debug/kubectl-mlflow-install}"
[ -x "$install" ] || { echo "official-chart-ci: $install is not built" >&2; exit 2; }
[ -n "${KMLF_TEST_KUBECONFIG:-}" ] || { echo "official-chart-ci: set KMLF_TEST_KUBECONFIG to a real node's kubeconfig (scripts/test-cluster up --real)" >&2; exit 2; }
tools="$(scripts/k8s-tools path v35)"
install_dir="$(dirname "$install")"
export PATH="$tools:$install_dir:$PATH"
kubectl --kubeconfig "$KMLF_TEST_KUBECONFIG" get node real-node-0 >/dev/null \
  || { echo "official-chart-ci: the cluster of $KMLF_TEST_KUBECONFIG has no real node (scripts/test-cluster up --real)" >&2; exit 2; }

legs=("$@")
[ ${#legs[@]} -gt 0 ] || legs=(helm-tls=false helm-tls=true plugin-tls=false plugin-tls=true)
namespaces=()
cleanup() {
  local ns
  for ns in "${namespaces[@]}"; do
    kubectl --kubeconfig "$KMLF_TEST_KUBECONFIG" delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

# One leg: $1 helm|plugin, $2 true|false (the matrix's tls).
leg() {
  local engine="$1" tls="$2" ns work rc=0
  ns="official-e2e-$engine-tls-$tls-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  work="$(mktemp -d)"
  namespaces+=("$ns")
  echo "== official chart CI, job e2e (tls=$tls), by $engine: namespace $ns"
  kubectl --kubeconfig "$KMLF_TEST_KUBECONFIG" create namespace "$ns" >/dev/null
  cp "$KMLF_TEST_KUBECONFIG" "$work/kubeconfig"
  KUBECONFIG="$work/kubeconfig" kubectl config set-context --current --namespace "$ns" >/dev/null
  ln -s "$repo/charts" "$work/charts"
  (cd "$work" && KUBECONFIG="$work/kubeconfig" MATRIX_TLS="$tls" ENGINE="$engine" \
    bash --noprofile --norc -eo pipefail "$repo/tests/official-chart-ci/e2e-steps.sh") || rc=$?
  echo "  - Print container logs (always)"
  (cd "$work" && KUBECONFIG="$work/kubeconfig" kubectl logs -l app.kubernetes.io/name=mlflow --tail=-1) || true
  rm -rf "$work"
  # the leg's pod holds its CPU and memory requests on the shared node until it is gone
  kubectl --kubeconfig "$KMLF_TEST_KUBECONFIG" delete namespace "$ns" --wait=false >/dev/null
  [ "$rc" -eq 0 ] || { echo "official-chart-ci: e2e (tls=$tls) by $engine failed" >&2; return 1; }
  echo "== e2e (tls=$tls) by $engine: passed"
}

failed=0
for l in "${legs[@]}"; do
  case "$l" in
    helm-tls=false|helm-tls=true|plugin-tls=false|plugin-tls=true) leg "${l%%-*}" "${l##*=}" || failed=1 ;;
    *) echo "official-chart-ci: unknown leg $l (helm-tls=false|true, plugin-tls=false|true)" >&2; exit 2 ;;
  esac
done
[ "$failed" -eq 0 ] || exit 1
echo "== official chart CI, job e2e: every leg passed (mlflow/mlflow .github/workflows/helm.yml @ 003d4902d5b72d06e8b316ee2586061714969b64)"
