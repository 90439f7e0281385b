# shellcheck shell=bash
# The steps of the official chart CI's job `e2e` (see e2e.sh), in a leg's work directory (charts/
# links to the repository's; KUBECONFIG's context names the leg's namespace). MATRIX_TLS is the
# matrix's tls (true|false), ENGINE helm or plugin.

echo "  - Get MLflow version"
MLFLOW_VERSION="$(grep '^appVersion' charts/Chart.yaml | awk '{print $2}' | tr -d '"')"

echo "  - Build Docker image, Load image into Kind: MLflow $MLFLOW_VERSION's image (scripts/node-images) on the node as mlflow:ci"
# (node.status.images groups the names of one image)
images="$(kubectl get node real-node-0 -o jsonpath='{range .status.images[*]}{.names}{"\n"}{end}')"
if ! grep "\"ghcr.io/mlflow/mlflow:v$MLFLOW_VERSION\"" <<<"$images" | grep -q '"docker.io/library/mlflow:ci"'; then
  echo "the node has no image ghcr.io/mlflow/mlflow:v$MLFLOW_VERSION that is also mlflow:ci (scripts/node-images build, then scripts/test-cluster images)" >&2
  exit 1
fi

if [ "$MATRIX_TLS" = true ]; then
  echo "  - Generate TLS certificate"
  openssl req -x509 -newkey rsa:2048 -keyout tls.key -out tls.crt -days 1 -nodes \
    -subj "/CN=localhost"
  kubectl create secret tls mlflow-tls --cert=tls.crt --key=tls.key
fi

echo "  - Deploy chart (by $ENGINE)"
TLS_FLAGS=""
if [ "$MATRIX_TLS" = true ]; then TLS_FLAGS="--set tls.enabled=true --set tls.secretName=mlflow-tls"; fi
if [ "$ENGINE" = helm ]; then
  # shellcheck disable=SC2086 # the flags split, as in the workflow
  helm install mlflow charts/ \
    --set image.repository=mlflow \
    --set image.tag=ci \
    --set image.pullPolicy=Never \
    --set fullnameOverride=mlflow \
    --set mlflow.backendStoreUri=sqlite:////tmp/mlflow.db \
    --set mlflow.artifactsDestination=/tmp/mlartifacts \
    $TLS_FLAGS \
    --wait \
    --timeout 5m
else
  # the same flags to `kubectl mlflow install` (the chart's `helm install mlflow charts/` is its
  # `install mlflow`)
  # shellcheck disable=SC2086
  kubectl mlflow install mlflow \
    --set image.repository=mlflow \
    --set image.tag=ci \
    --set image.pullPolicy=Never \
    --set fullnameOverride=mlflow \
    --set mlflow.backendStoreUri=sqlite:////tmp/mlflow.db \
    --set mlflow.artifactsDestination=/tmp/mlartifacts \
    $TLS_FLAGS \
    --wait \
    --timeout 5m
fi

echo "  - Verify MLflow is reachable"
SCHEME=http
CURL_FLAGS=""
if [ "$MATRIX_TLS" = true ]; then SCHEME=https CURL_FLAGS="--insecure"; fi
# DIFFERS ON PURPOSE: a free local port instead of 5000 (the machine is shared).
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
kubectl port-forward svc/mlflow "$PORT:5000" &
trap 'kill $! 2>/dev/null || true' EXIT
# shellcheck disable=SC2086
curl --retry 10 --retry-connrefused --retry-delay 3 --fail $CURL_FLAGS "${SCHEME}://localhost:$PORT/health"
echo
