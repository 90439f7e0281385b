# upstream step "Render probes", its checks read from the JSON objects
render() {
  "$install" mlflow --dry-run -o json \
    --set mlflow.backendStoreUri="sqlite:////tmp/mlflow.db" "$@"
}
q() { python3 "$here/native.py" "$@"; }

# the three probes by default, on /health
default=$(render)
echo "$default" | q has-probe livenessProbe
echo "$default" | q has-probe readinessProbe
echo "$default" | q has-probe startupProbe
[ "$(echo "$default" | q probe livenessProbe httpGet.path)" = /health ]

# enabled: false leaves a probe out
disabled=$(render --set probes.startup.enabled=false)
if echo "$disabled" | q has-probe startupProbe; then
  echo "startupProbe should have been omitted" >&2
  exit 1
fi

# TLS and the static prefix reach the probe's request
tls=$(render --set tls.enabled=true --set server.staticPrefix=/mlflow)
[ "$(echo "$tls" | q probe livenessProbe httpGet.path)" = /mlflow/health ]
[ "$(echo "$tls" | q probe livenessProbe httpGet.scheme)" = HTTPS ]

# a threshold set for one probe lands in that probe
overridden=$(render --set probes.readiness.failureThreshold=9)
[ "$(echo "$overridden" | q probe readinessProbe failureThreshold)" = 9 ]
