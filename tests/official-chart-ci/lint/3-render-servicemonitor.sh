# upstream step "Render ServiceMonitor"
render() {
  helm template mlflow charts/ \
    --set mlflow.backendStoreUri="sqlite:////tmp/mlflow.db" \
    --set metrics.enabled=true \
    --set serviceMonitor.enabled=true "$@"
}
render | grep -q '^      path: /metrics$'
# DIFFERS ON PURPOSE: upstream has
#   render --set metrics.path=/custom | grep -q '^      path: /custom$'
# This chart refuses every metrics.path but /metrics: MLflow's exporter (prometheus-flask-exporter)
# serves its metrics at /metrics only, under a static prefix too, so a ServiceMonitor pointed
# elsewhere scrapes nothing. The check is the refusal, with its message.
if out=$(render --set metrics.path=/custom 2>&1); then echo "metrics.path=/custom was rendered" >&2; exit 1; fi
echo "$out" | grep -q 'metrics.path: "/custom": MLflow serves its metrics at /metrics only'
# an empty path means the default, /metrics (an empty one would be read as null)
render --set metrics.path= | grep -q '^      path: /metrics$'
