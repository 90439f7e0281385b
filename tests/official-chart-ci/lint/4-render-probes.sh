# upstream step "Render probes"
render() {
  helm template mlflow charts/ \
    --set mlflow.backendStoreUri="sqlite:////tmp/mlflow.db" "$@"
}
# the lines of one probe's block (below its 10-space key, up to the next such key), so that a
# check reads that probe and nothing else
probe_block() {
  awk -v key="^          $1\$" '
    $0 ~ key { infield=1; next }
    infield && /^          [A-Za-z]/ { infield=0 }
    infield { print }
  '
}

# the three probes by default, on /health
default=$(render)
echo "$default" | grep -q '^          livenessProbe:$'
echo "$default" | grep -q '^          readinessProbe:$'
echo "$default" | grep -q '^          startupProbe:$'
echo "$default" | grep -q '^              path: /health$'

# enabled: false leaves a probe out (rendered into a variable first: a failing render must fail
# the step, not pass for an omitted probe)
disabled=$(render --set probes.startup.enabled=false)
if echo "$disabled" | grep -q 'startupProbe:'; then
  echo "startupProbe should have been omitted" >&2
  exit 1
fi

# TLS and the static prefix reach the probe's request
tls=$(render --set tls.enabled=true --set server.staticPrefix=/mlflow)
echo "$tls" | probe_block 'livenessProbe:' | grep -q '^              path: /mlflow/health$'
echo "$tls" | probe_block 'livenessProbe:' | grep -q '^              scheme: HTTPS$'

# a threshold set for one probe lands in that probe
overridden=$(render --set probes.readiness.failureThreshold=9)
echo "$overridden" | probe_block 'readinessProbe:' | grep -q '^            failureThreshold: 9$'
