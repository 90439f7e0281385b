# upstream step "Render ServiceMonitor", its checks read from the JSON objects
render() {
  "$install" mlflow --dry-run -o json \
    --set mlflow.backendStoreUri="sqlite:////tmp/mlflow.db" \
    --set metrics.enabled=true \
    --set serviceMonitor.enabled=true "$@"
}
q() { python3 "$here/native.py" "$@"; }
[ "$(render | q servicemonitor-path)" = /metrics ]
# DIFFERS ON PURPOSE, as with helm (lint/3-render-servicemonitor.sh): metrics.path=/custom is refused.
if out=$(render --set metrics.path=/custom 2>&1); then echo "metrics.path=/custom was rendered" >&2; exit 1; fi
echo "$out" | grep -q 'metrics.path: "/custom": MLflow serves its metrics at /metrics only'
[ "$(render --set metrics.path= | q servicemonitor-path)" = /metrics ]
