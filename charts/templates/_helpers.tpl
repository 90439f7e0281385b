{{/*
Helpers of the MLflow chart. docs/objects.md is the specification every template follows; the
native renderer of kubectl-mlflow implements the same document, and a parity test holds both equal.
Every value is read with dig/get so that `helm lint --strict` (missingkey=error) stays clean.
*/}}

{{/* F: fullnameOverride, else "<release>-mlflow", cut to 63 characters, no trailing "-". */}}
{{- define "mlflow.fullname" -}}
{{- $name := .Values.fullnameOverride | default (printf "%s-mlflow" .Release.Name) -}}
{{- regexReplaceAll "-+$" ($name | trunc 63) "" -}}
{{- end -}}

{{/* Name of the ServiceAccount the pods run as: serviceAccount.name, else F when the chart makes
it, else the namespace's "default" account. */}}
{{- define "mlflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.name -}}
{{- .Values.serviceAccount.name -}}
{{- else if .Values.serviceAccount.create -}}
{{- include "mlflow.fullname" . -}}
{{- else -}}
default
{{- end -}}
{{- end -}}

{{/* "true" on OpenShift: openshift, or a cluster that serves route.openshift.io/v1. */}}
{{- define "mlflow.openshift" -}}
{{- if or .Values.openshift (.Capabilities.APIVersions.Has "route.openshift.io/v1") -}}true{{- end -}}
{{- end -}}

{{/* podSecurityContext as YAML ("" when empty); on OpenShift without the ids its SCC assigns. */}}
{{- define "mlflow.podSecurityContext" -}}
{{- $context := deepCopy (.Values.podSecurityContext | default dict) -}}
{{- if include "mlflow.openshift" . -}}
{{- $context = omit $context "runAsUser" "runAsGroup" "fsGroup" -}}
{{- end -}}
{{- with $context -}}{{- toYaml . -}}{{- end -}}
{{- end -}}

{{/* Common labels of every object. */}}
{{- define "mlflow.labels" -}}
app.kubernetes.io/name: mlflow
app.kubernetes.io/instance: {{ .Release.Name | toJson }}
app.kubernetes.io/version: {{ .Chart.AppVersion | toJson }}
app.kubernetes.io/managed-by: {{ .Release.Service | toJson }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | toJson }}
{{- end -}}

{{/* Selector labels of the server pods. */}}
{{- define "mlflow.selectorLabels" -}}
app.kubernetes.io/name: mlflow
app.kubernetes.io/instance: {{ .Release.Name | toJson }}
app.kubernetes.io/component: server
{{- end -}}

{{/* P: server.value_options.port, default 5000. */}}
{{- define "mlflow.port" -}}
{{- $port := dig "port" nil (.Values.server.value_options | default dict) -}}
{{- if or (kindIs "invalid" $port) (eq (toString $port) "") -}}5000{{- else -}}{{ int64 $port }}{{- end -}}
{{- end -}}

{{/* SP: the Service's port: service.port, else P. */}}
{{- define "mlflow.servicePort" -}}
{{- $port := dig "port" nil (.Values.service | default dict) -}}
{{- if or (kindIs "invalid" $port) (eq (toString $port) "") -}}{{ include "mlflow.port" . }}{{- else -}}{{ int64 $port }}{{- end -}}
{{- end -}}

{{/* metrics.path, "/metrics" when empty or null (as the official chart reads it). */}}
{{- define "mlflow.metricsPath" -}}
{{- $path := dig "path" nil (.Values.metrics | default dict) -}}
{{- if or (kindIs "invalid" $path) (eq (toString $path) "") -}}/metrics{{- else -}}{{ toString $path }}{{- end -}}
{{- end -}}

{{/* A path as a YAML scalar: bare when it is plain (what a reader greps for), else quoted. */}}
{{- define "mlflow.yamlPath" -}}
{{- if regexMatch "^/[A-Za-z0-9._~/-]*$" . -}}{{ . }}{{- else -}}{{ toJson . }}{{- end -}}
{{- end -}}

{{/* PN: "https" with TLS, else "http". */}}
{{- define "mlflow.portName" -}}
{{- if .Values.tls.enabled -}}https{{- else -}}http{{- end -}}
{{- end -}}

{{/* PFX: server.staticPrefix without a trailing "/". */}}
{{- define "mlflow.staticPrefix" -}}
{{- .Values.server.staticPrefix | default "" | trimSuffix "/" -}}
{{- end -}}

{{/* "true" when basic auth is on (server.value_options.app_name == "basic-auth"), else "". */}}
{{- /* Where the admin password comes from: auth.adminPasswordFrom, else the release's auth Secret,
where auth-secret.yaml generates one on the first install and keeps it on upgrades. */ -}}
{{- define "mlflow.adminPasswordFrom" -}}
{{- if empty .Values.auth.adminPasswordFrom -}}
secretKeyRef:
  name: {{ include "mlflow.fullname" . }}-auth
  key: admin-password
{{- else -}}
{{- toYaml .Values.auth.adminPasswordFrom -}}
{{- end -}}
{{- end -}}

{{- define "mlflow.basicAuth" -}}
{{- $app := dig "app_name" "" (.Values.server.value_options | default dict) -}}
{{- if and (kindIs "string" $app) (eq $app "basic-auth") -}}true{{- end -}}
{{- end -}}

{{/* "true" when server.flag_options holds enable_workspaces (in any spelling), else "". */}}
{{- define "mlflow.workspaces" -}}
{{- range $flag := .Values.server.flag_options | default list -}}
{{- if eq (include "mlflow.flagName" $flag) "enable-workspaces" -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* The dialect of a store URI without its driver (postgresql+psycopg2://… → postgresql); "" for a path. */}}
{{- define "mlflow.storeFamily" -}}
{{- $uri := toString . -}}
{{- $scheme := "" -}}
{{- if contains "://" $uri -}}
{{- $scheme = splitList "://" $uri | first -}}
{{- else if contains ":" $uri -}}
{{- $scheme = splitList ":" $uri | first -}}
{{- end -}}
{{- if not (contains "/" $scheme) -}}{{- splitList "+" $scheme | first -}}{{- end -}}
{{- end -}}

{{/* "true" when the migration Job runs: migrations.enabled and a database server store
(PostgreSQL, MySQL, MSSQL, or one read with backendStoreUriFrom); never SQLite. */}}
{{- define "mlflow.migrations" -}}
{{- $m := .Values.mlflow -}}
{{- $family := include "mlflow.storeFamily" ($m.backendStoreUri | default "") -}}
{{- if and (dig "enabled" false (.Values.migrations | default dict)) (or $m.backendStoreUriFrom (has $family (list "postgresql" "mysql" "mssql"))) -}}true{{- end -}}
{{- end -}}

{{/* "true" when basic auth keeps its users on a database server (PostgreSQL, MySQL, MSSQL, or one
read with auth.databaseUriFrom): the migration Job then migrates it too. */}}
{{- define "mlflow.authDatabaseServer" -}}
{{- $family := include "mlflow.storeFamily" (.Values.auth.databaseUri | default "") -}}
{{- if and (include "mlflow.basicAuth" .) (or (not (empty .Values.auth.databaseUriFrom)) (has $family (list "postgresql" "mysql" "mssql"))) -}}true{{- end -}}
{{- end -}}

{{/* A flag option as MLflow spells it, without dashes: no_serve_artifacts, --no-serve-artifacts → no-serve-artifacts. */}}
{{- define "mlflow.flagName" -}}
{{- regexReplaceAll "^-+" (toString .) "" | replace "_" "-" -}}
{{- end -}}

{{/* A scalar as a command-line value: strings as they are, numbers as digits, bools as true/false. */}}
{{- define "mlflow.argValue" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ toJson . }}{{- end -}}
{{- end -}}

{{/* Text of basic_auth.ini (the ConfigMap F-auth and the pod's checksum annotation). */}}
{{- define "mlflow.authIni" -}}
[mlflow]
default_permission = {{ .Values.auth.defaultPermission }}
{{- if empty .Values.auth.databaseUriFrom }}
database_uri = {{ .Values.auth.databaseUri | default (printf "sqlite:///%s/basic_auth.db" (.Values.storage.mountPath | trimSuffix "/")) | replace "%" "%%" }}
{{- end }}
admin_username = {{ .Values.auth.adminUsername }}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
{{ end -}}

{{/*
MLFLOW_SERVER_ALLOWED_HOSTS as a JSON list: value_options.allowed_hosts entries, Ingress hosts, HTTPRoute hostnames,
localhost and private ranges, then the Service's DNS names; duplicates removed, first kept.
*/}}
{{- define "mlflow.allowedHosts" -}}
{{- $fullname := include "mlflow.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- $candidates := list -}}
{{- $given := dig "allowed_hosts" "" (.Values.server.value_options | default dict) -}}
{{- if and (not (kindIs "invalid" $given)) (ne (toString $given) "") -}}
{{- range $entry := splitList "," (toString $given) -}}
{{- $candidates = append $candidates (trim $entry) -}}
{{- end -}}
{{- end -}}
{{- if .Values.ingress.enabled -}}
{{- range $host := .Values.ingress.hosts | default list -}}
{{- $candidates = append $candidates (toString (get $host "host")) -}}
{{- end -}}
{{- end -}}
{{- if dig "enabled" false (.Values.httpRoute | default dict) -}}
{{- range $host := .Values.httpRoute.hostnames | default list -}}
{{- $candidates = append $candidates (toString $host) -}}
{{- end -}}
{{- end -}}
{{- $candidates = concat $candidates (list "localhost" "localhost:*" "127.0.0.1" "127.0.0.1:*" "[::1]" "[::1]:*" "10.*") -}}
{{- range $i := until 16 -}}
{{- $candidates = append $candidates (printf "172.%d.*" (add 16 $i)) -}}
{{- end -}}
{{- $candidates = append $candidates "192.168.*" -}}
{{- range $suffix := list "" (printf ".%s" $ns) (printf ".%s.svc" $ns) (printf ".%s.svc.cluster.local" $ns) -}}
{{- $candidates = concat $candidates (list (printf "%s%s" $fullname $suffix) (printf "%s%s:*" $fullname $suffix)) -}}
{{- end -}}
{{- $hosts := list -}}
{{- range $h := $candidates -}}
{{- if and (ne $h "") (not (has $h $hosts)) -}}
{{- $hosts = append $hosts $h -}}
{{- end -}}
{{- end -}}
{{- toJson $hosts -}}
{{- end -}}

{{/* env entry MLFLOW_BACKEND_STORE_URI (server and GC), as a YAML list item: the reference when
mlflow.backendStoreUriFrom is set, else the literal URI. */}}
{{- define "mlflow.backendStoreEnv" -}}
- name: MLFLOW_BACKEND_STORE_URI
{{- if .Values.mlflow.backendStoreUriFrom }}
  valueFrom:
    {{- toYaml .Values.mlflow.backendStoreUriFrom | nindent 4 }}
{{- else }}
  value: {{ .Values.mlflow.backendStoreUri | toJson }}
{{- end }}
{{- end -}}

{{/*
Template-time validation of combinations the schema cannot express: the checks of kubectl-mlflow's
core crate (shared/src/validate.rs), in its order and wording. Every problem is collected, then the
chart fails once with all of them, one per line: "<key.path>: <what is wrong> (<how to fix>)".
*/}}
{{- define "mlflow.validate" -}}
{{- $errors := list -}}
{{- $m := .Values.mlflow -}}
{{- $workspaces := include "mlflow.workspaces" . -}}
{{- $dnsLabel := "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" -}}
{{- $dnsSubdomain := "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" -}}
{{- /* stores */ -}}
{{- if and (empty $m.backendStoreUri) (empty $m.backendStoreUriFrom) -}}
{{- $errors = append $errors "mlflow.backendStoreUri: no backend store is set (set mlflow.backendStoreUri, or mlflow.backendStoreUriFrom to read it from a Secret)" -}}
{{- end -}}
{{- if and (include "mlflow.basicAuth" .) .Values.auth.databaseUri (not (empty .Values.auth.databaseUriFrom)) -}}
{{- $errors = append $errors "auth.databaseUriFrom: may not be set with auth.databaseUri (keep one of them)" -}}
{{- end -}}
{{- /* workspaces */ -}}
{{- if $workspaces -}}
{{- if $m.backendStoreUri -}}
{{- $uri := toString $m.backendStoreUri -}}
{{- $scheme := "" -}}
{{- if contains "://" $uri -}}
{{- $scheme = (splitList "://" $uri | first) -}}
{{- else if contains ":" $uri -}}
{{- $scheme = (splitList ":" $uri | first) -}}
{{- end -}}
{{- $family := splitList "+" $scheme | first -}}
{{- if not (has $family (list "sqlite" "postgresql" "mysql" "mssql")) -}}
{{- $errors = append $errors (printf "server.flag_options: enable_workspaces needs a SQL backend store (sqlite, postgresql, mysql or mssql), not \"%s\"" ($family | default $uri)) -}}
{{- end -}}
{{- end -}}
{{- if empty $m.defaultArtifactRoot -}}
{{- $errors = append $errors "mlflow.defaultArtifactRoot: enable_workspaces needs a default artifact root (set mlflow.defaultArtifactRoot, e.g. s3://bucket/path)" -}}
{{- end -}}
{{- end -}}
{{- /* garbage collection */ -}}
{{- $gc := .Values.garbageCollection -}}
{{- if and $gc.allWorkspaces (not $workspaces) -}}
{{- $errors = append $errors "garbageCollection.allWorkspaces: needs workspaces (add enable_workspaces to server.flag_options, or set allWorkspaces: false)" -}}
{{- end -}}
{{- if $gc.enabled -}}
{{- if not (include "mlflow.isCronSchedule" (toString $gc.schedule)) -}}
{{- $errors = append $errors (printf "garbageCollection.schedule: \"%s\" is not a cron schedule (five fields, e.g. \"0 2 * * 0\")" (toString $gc.schedule)) -}}
{{- end -}}
{{- if and $gc.olderThan (not (regexMatch "^([0-9]+(\\.[0-9]+)?[dhms])+$" (toString $gc.olderThan))) -}}
{{- $errors = append $errors (printf "garbageCollection.olderThan: \"%s\" is not a duration (use #d#h#m#s, e.g. \"30d\" or \"7d12h\")" (toString $gc.olderThan)) -}}
{{- end -}}
{{- if and .Values.storage.enabled (eq (toString .Values.storage.accessMode) "ReadWriteOncePod") -}}
{{- $errors = append $errors "garbageCollection.enabled: the GC job mounts the volume while the server has it, which storage.accessMode ReadWriteOncePod forbids (use ReadWriteOnce)" -}}
{{- end -}}
{{- end -}}
{{- /* server */ -}}
{{- $options := .Values.server.value_options | default dict -}}
{{- range $key, $value := $options -}}
{{- if or (kindIs "slice" $value) (kindIs "map" $value) -}}
{{- $errors = append $errors (printf "server.value_options.%s: expected a string, number or boolean (a flag takes one value)" $key) -}}
{{- end -}}
{{- end -}}
{{- $port := get $options "port" -}}
{{- if not (kindIs "invalid" $port) -}}
{{- $text := include "mlflow.argValue" $port -}}
{{- if not (and (regexMatch "^[0-9]+$" $text) (ge (atoi $text) 1) (le (atoi $text) 65535)) -}}
{{- $errors = append $errors (printf "server.value_options.port: %s is not a port (use a number from 1 to 65535)" (toJson $port)) -}}
{{- end -}}
{{- end -}}
{{- range $i, $flag := .Values.server.flag_options | default list -}}
{{- $flag = toString $flag -}}
{{- if or (eq (regexReplaceAll "^-+" $flag "") "") (regexMatch "\\s" $flag) (contains "=" $flag) -}}
{{- $errors = append $errors (printf "server.flag_options[%d]: \"%s\" is not a bare flag name (put options with a value in server.value_options)" $i $flag) -}}
{{- end -}}
{{- end -}}
{{- $prefix := toString (.Values.server.staticPrefix | default "") -}}
{{- if and $prefix (not (hasPrefix "/" $prefix)) -}}
{{- $errors = append $errors (printf "server.staticPrefix: \"%s\" must start with / (e.g. /mlflow)" $prefix) -}}
{{- end -}}
{{- if or (contains "{" $prefix) (contains "}" $prefix) -}}
{{- $errors = append $errors (printf "server.staticPrefix: \"%s\" may not hold '{' or '}': mlflow server refuses it (remove them)" $prefix) -}}
{{- end -}}
{{- /* TLS and monitoring */ -}}
{{- if and .Values.tls.enabled (empty .Values.tls.secretName) -}}
{{- $errors = append $errors "tls.secretName: TLS is enabled but no Secret is named (set tls.secretName)" -}}
{{- end -}}
{{- if and .Values.serviceMonitor.enabled (not .Values.metrics.enabled) -}}
{{- $errors = append $errors "serviceMonitor.enabled: needs metrics.enabled (set metrics.enabled: true)" -}}
{{- end -}}
{{- if and .Values.metrics.enabled (ne (include "mlflow.metricsPath" .) "/metrics") -}}
{{- $errors = append $errors (printf "metrics.path: \"%s\": MLflow serves its metrics at /metrics only, under a static prefix too (set metrics.path: /metrics)" (toString .Values.metrics.path)) -}}
{{- end -}}
{{- /* storage */ -}}
{{- if .Values.storage.enabled -}}
{{- $size := toString .Values.storage.size -}}
{{- if not (include "mlflow.isPositiveQuantity" $size) -}}
{{- $errors = append $errors (printf "storage.size: \"%s\" is not a storage size (use a Kubernetes quantity, e.g. 10Gi)" $size) -}}
{{- end -}}
{{- if not (hasPrefix "/" (toString .Values.storage.mountPath)) -}}
{{- $errors = append $errors (printf "storage.mountPath: \"%s\" is not an absolute path (e.g. /mlflow)" (toString .Values.storage.mountPath)) -}}
{{- end -}}
{{- end -}}
{{- /* basic auth */ -}}
{{- if include "mlflow.basicAuth" . -}}
{{- if and (empty .Values.auth.databaseUri) (empty .Values.auth.databaseUriFrom) (not .Values.storage.enabled) -}}
{{- $errors = append $errors "auth.databaseUri: basic auth needs a database for its users (set auth.databaseUri, or storage.enabled: true to keep it on the volume)" -}}
{{- end -}}
{{- if empty .Values.auth.adminUsername -}}
{{- $errors = append $errors "auth.adminUsername: basic auth needs an admin user name (e.g. admin)" -}}
{{- end -}}
{{- end -}}
{{- /* names */ -}}
{{- $fullname := toString (.Values.fullnameOverride | default "") -}}
{{- if and $fullname (not (and (le (len $fullname) 63) (regexMatch $dnsLabel $fullname))) -}}
{{- $errors = append $errors (printf "fullnameOverride: \"%s\" is not a valid name (lowercase letters, digits and '-', at most 63 characters)" $fullname) -}}
{{- end -}}
{{- $sa := toString (.Values.serviceAccount.name | default "") -}}
{{- if and $sa (not (include "mlflow.isDnsSubdomain" $sa)) -}}
{{- $errors = append $errors (printf "serviceAccount.name: \"%s\" is not a valid ServiceAccount name" $sa) -}}
{{- end -}}
{{- $secret := toString (.Values.tls.secretName | default "") -}}
{{- if and .Values.tls.enabled $secret (not (include "mlflow.isDnsSubdomain" $secret)) -}}
{{- $errors = append $errors (printf "tls.secretName: \"%s\" is not a valid Secret name" $secret) -}}
{{- end -}}
{{- if .Values.ingress.enabled -}}
{{- if not .Values.ingress.hosts -}}
{{- $errors = append $errors "ingress.hosts: an enabled Ingress needs at least one host (e.g. --set ingress.hosts[0].host=mlflow.example.com), or set ingress.enabled=false" -}}
{{- end -}}
{{- range $i, $host := .Values.ingress.hosts | default list -}}
{{- $name := toString (get $host "host") -}}
{{- if not (include "mlflow.isDnsSubdomain" (trimPrefix "*." $name)) -}}
{{- $errors = append $errors (printf "ingress.hosts[%d].host: \"%s\" is not a DNS host name (e.g. mlflow.example.com)" $i $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* env */ -}}
{{- $own := list "MLFLOW_BACKEND_STORE_URI" "MLFLOW_REGISTRY_STORE_URI" "MLFLOW_DEFAULT_ARTIFACT_ROOT" "MLFLOW_ARTIFACTS_DESTINATION" "MLFLOW_SERVER_ALLOWED_HOSTS" "MLFLOW_SERVER_ENABLE_JOB_EXECUTION" "MLFLOW_AUTH_CONFIG_PATH" "MLFLOW_AUTH_ADMIN_USERNAME" "MLFLOW_AUTH_ADMIN_PASSWORD" "MLFLOW_PORT" -}}
{{- $seen := list -}}
{{- range $i, $var := .Values.env | default list -}}
{{- $name := toString (get $var "name") -}}
{{- if has $name $own -}}
{{- $errors = append $errors (printf "env[%d].name: %s is set by the chart from its values (use the mlflow.*, server.* or auth.* keys instead)" $i $name) -}}
{{- else if has $name $seen -}}
{{- $errors = append $errors (printf "env[%d].name: %s is given twice (keep one)" $i $name) -}}
{{- end -}}
{{- $seen = append $seen $name -}}
{{- end -}}
{{- /* local stores (templates/_local_paths.tpl) */ -}}
{{- range $line := splitList "\n" (include "mlflow.localPathProblems" .) -}}
{{- if $line -}}{{- $errors = append $errors $line -}}{{- end -}}
{{- end -}}
{{- /* image (templates/_image.tpl) */ -}}
{{- range $line := splitList "\n" (include "mlflow.imageProblems" .) -}}
{{- if $line -}}{{- $errors = append $errors $line -}}{{- end -}}
{{- end -}}
{{- /* what the kubelet refuses (templates/_kubelet.tpl) */ -}}
{{- range $line := splitList "\n" (include "mlflow.kubeletProblems" .) -}}
{{- if $line -}}{{- $errors = append $errors $line -}}{{- end -}}
{{- end -}}
{{- /* disruption budget and route */ -}}
{{- $budget := .Values.podDisruptionBudget | default dict -}}
{{- if and $budget.enabled (not (kindIs "invalid" (dig "minAvailable" nil $budget))) (not (kindIs "invalid" (dig "maxUnavailable" nil $budget))) -}}
{{- $errors = append $errors "podDisruptionBudget.maxUnavailable: may not be set with podDisruptionBudget.minAvailable (keep one of them)" -}}
{{- end -}}
{{- /* autoscaling, /tmp and the migration's wait */ -}}
{{- range $line := splitList "\n" (include "mlflow.autoscalingProblems" .) -}}
{{- if $line -}}{{- $errors = append $errors $line -}}{{- end -}}
{{- end -}}
{{- $tmp := .Values.tmp | default dict -}}
{{- $ephemeral := $tmp.ephemeral | default dict -}}
{{- if and $tmp.sizeLimit (not (include "mlflow.isPositiveQuantity" (toString $tmp.sizeLimit))) -}}
{{- $errors = append $errors (printf "tmp.sizeLimit: \"%s\" is not a size (use a Kubernetes quantity, e.g. 2Gi)" (toString $tmp.sizeLimit)) -}}
{{- end -}}
{{- if and $ephemeral.size (not (include "mlflow.isPositiveQuantity" (toString $ephemeral.size))) -}}
{{- $errors = append $errors (printf "tmp.ephemeral.size: \"%s\" is not a size (use a Kubernetes quantity, e.g. 20Gi)" (toString $ephemeral.size)) -}}
{{- end -}}
{{- if and $ephemeral.size (or $tmp.sizeLimit $tmp.medium) -}}
{{- $errors = append $errors "tmp.ephemeral.size: an ephemeral volume replaces the emptyDir: it may not be set with tmp.sizeLimit or tmp.medium (keep one of them)" -}}
{{- end -}}
{{- if and (not $ephemeral.size) $ephemeral.storageClassName -}}
{{- $errors = append $errors "tmp.ephemeral.storageClassName: names the class of an ephemeral volume, which needs a size (set tmp.ephemeral.size, e.g. 20Gi)" -}}
{{- end -}}
{{- $wait := toString (dig "waitTimeout" "" (.Values.migrations | default dict)) -}}
{{- if not (regexMatch "^(0|([0-9]+(\\.[0-9]+)?(ms|h|m|s))+)$" $wait) -}}
{{- $errors = append $errors (printf "migrations.waitTimeout: \"%s\" is not a duration (e.g. 4m, 90s or 1h30m; 0 not to wait)" $wait) -}}
{{- end -}}
{{- if and .Values.httpRoute.enabled (empty .Values.httpRoute.parentRefs) -}}
{{- $errors = append $errors "httpRoute.parentRefs: the HTTPRoute needs a Gateway to attach to (e.g. [{name: shared-gateway, namespace: gateway-system}])" -}}
{{- end -}}
{{- /* External Secrets */ -}}
{{- $es := .Values.externalSecrets | default dict -}}
{{- if $es.enabled -}}
{{- if not (regexMatch "^external-secrets\\.io/v[0-9a-z]+$" (toString $es.apiVersion)) -}}
{{- $errors = append $errors (printf "externalSecrets.apiVersion: \"%s\" is not an External Secrets API version (use external-secrets.io/v1, or external-secrets.io/v1beta1 for operators before v0.17)" (toString $es.apiVersion)) -}}
{{- end -}}
{{- if empty $es.provider -}}
{{- $errors = append $errors "externalSecrets.provider: no provider is set; the SecretStore needs one (e.g. {aws: {service: SecretsManager, region: eu-west-1}}), or set externalSecrets.enabled: false" -}}
{{- end -}}
{{- if empty $es.data -}}
{{- $errors = append $errors "externalSecrets.data: nothing to fetch; the ExternalSecret needs at least one entry (e.g. [{secretKey: db-uri, remoteRef: {key: mlflow/db}}])" -}}
{{- end -}}
{{- if not (regexMatch "^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$" (toString $es.refreshInterval)) -}}
{{- $errors = append $errors (printf "externalSecrets.refreshInterval: \"%s\" is not a duration (e.g. 1h, 15m, 1h30m, or 0 to fetch once)" (toString $es.refreshInterval)) -}}
{{- end -}}
{{- if and $es.secretName (not (include "mlflow.isDnsSubdomain" (toString $es.secretName))) -}}
{{- $errors = append $errors (printf "externalSecrets.secretName: \"%s\" is not a valid Secret name (lowercase letters, digits, '-' and '.', at most 253 characters)" (toString $es.secretName)) -}}
{{- end -}}
{{- end -}}
{{- /* single sign-on (templates/_oidc.tpl) */ -}}
{{- range $line := splitList "\n" (include "mlflow.oidcProblems" .) -}}
{{- if $line -}}{{- $errors = append $errors $line -}}{{- end -}}
{{- end -}}
{{- /* extraObjects given as maps (templates/extra-objects.yaml) */ -}}
{{- range $i, $object := (.Values.extraObjects | default list) -}}
{{- if kindIs "map" $object -}}
{{- $metadata := get $object "metadata" -}}
{{- $name := "" -}}
{{- if kindIs "map" $metadata -}}{{- $name = get $metadata "name" -}}{{- end -}}
{{- range $field, $given := dict "apiVersion" (get $object "apiVersion") "kind" (get $object "kind") "metadata.name" $name -}}
{{- if not (and (kindIs "string" $given) $given) -}}
{{- $errors = append $errors (printf "extraObjects[%d]: no %s (an extra object needs apiVersion, kind and metadata.name, each a string)" $i $field) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n%s" (join "\n" $errors)) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the text is a Kubernetes quantity above zero (10Gi, 500M, 1.5e3). */}}
{{- define "mlflow.isPositiveQuantity" -}}
{{- $number := regexFind "^[0-9.+]*" . -}}
{{- $suffix := trimPrefix $number . -}}
{{- $suffixOk := or (has $suffix (list "" "Ki" "Mi" "Gi" "Ti" "Pi" "Ei" "n" "u" "m" "k" "M" "G" "T" "P" "E")) (regexMatch "^[eE][+-]*[0-9]+$" $suffix) -}}
{{- if and $suffixOk (regexMatch "^\\+?([0-9]+\\.?[0-9]*|\\.[0-9]+)$" $number) (gt (float64 (trimPrefix "+" $number)) 0.0) -}}true{{- end -}}
{{- end -}}

{{/* "true" when the text is an RFC 1123 subdomain (labels of at most 63 characters, 253 in all). */}}
{{- define "mlflow.isDnsSubdomain" -}}
{{- $ok := and (le (len .) 253) (ne . "") -}}
{{- range $label := splitList "." . -}}
{{- if not (and (le (len $label) 63) (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $label)) -}}{{- $ok = false -}}{{- end -}}
{{- end -}}
{{- if $ok -}}true{{- end -}}
{{- end -}}

{{/*
"true" when the text is a Kubernetes CronJob schedule: a macro (@hourly ... @yearly) or five
fields (minute 0-59, hour 0-23, day 1-31, month 1-12 or jan-dec, weekday 0-7 or sun-sat), each a
comma list of *, ? (day and weekday), a value or a range a-b, optionally with a /step above 0.
*/}}
{{- define "mlflow.isCronSchedule" -}}
{{- $text := trim . -}}
{{- if has $text (list "@yearly" "@annually" "@monthly" "@weekly" "@daily" "@midnight" "@hourly") -}}
true
{{- else -}}
{{- $fields := regexSplit "\\s+" $text -1 -}}
{{- $ok := eq (len $fields) 5 -}}
{{- if $ok -}}
{{- $ranges := list (list 0 59) (list 0 23) (list 1 31) (list 1 12) (list 0 7) -}}
{{- $names := dict "jan" 1 "feb" 2 "mar" 3 "apr" 4 "may" 5 "jun" 6 "jul" 7 "aug" 8 "sep" 9 "oct" 10 "nov" 11 "dec" 12 -}}
{{- $days := dict "sun" 0 "mon" 1 "tue" 2 "wed" 3 "thu" 4 "fri" 5 "sat" 6 -}}
{{- range $position, $field := $fields -}}
{{- $lo := index $ranges $position 0 -}}
{{- $hi := index $ranges $position 1 -}}
{{- range $part := splitList "," $field -}}
{{- $pieces := splitList "/" $part -}}
{{- $range := first $pieces -}}
{{- if gt (len $pieces) 2 -}}{{- $ok = false -}}{{- end -}}
{{- if eq (len $pieces) 2 -}}
{{- $step := index $pieces 1 -}}
{{- if not (and (regexMatch "^[0-9]+$" $step) (gt (atoi $step) 0)) -}}{{- $ok = false -}}{{- end -}}
{{- end -}}
{{- if not (or (eq $range "*") (and (eq $range "?") (has $position (list 2 4)))) -}}
{{- $bounds := splitList "-" $range -}}
{{- if gt (len $bounds) 2 -}}{{- $ok = false -}}{{- end -}}
{{- $numbers := list -}}
{{- range $value := $bounds -}}
{{- $lower := lower $value -}}
{{- if regexMatch "^[0-9]+$" $value -}}
{{- $numbers = append $numbers (atoi $value) -}}
{{- else if and (eq $position 3) (hasKey $names $lower) -}}
{{- $numbers = append $numbers (get $names $lower) -}}
{{- else if and (eq $position 4) (hasKey $days $lower) -}}
{{- $numbers = append $numbers (get $days $lower) -}}
{{- else -}}
{{- $ok = false -}}
{{- end -}}
{{- end -}}
{{- range $n := $numbers -}}
{{- if or (lt (int $n) (int $lo)) (gt (int $n) (int $hi)) -}}{{- $ok = false -}}{{- end -}}
{{- end -}}
{{- if and (eq (len $numbers) 2) (gt (int (index $numbers 0)) (int (index $numbers 1))) -}}{{- $ok = false -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $ok -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* Where the server stores proxied artifacts: mlflow.artifactsDestination, else the volume's
"artifacts" directory when no artifact store is named at all, else /tmp/mlartifacts (MLflow's own
default, ./mlartifacts, would be on the read-only root). */}}
{{- define "mlflow.artifactsDestination" -}}
{{- $m := .Values.mlflow -}}
{{- if $m.artifactsDestination -}}
{{- $m.artifactsDestination -}}
{{- else if $m.defaultArtifactRoot -}}
{{- else if .Values.storage.enabled -}}
{{- printf "%s/artifacts" (.Values.storage.mountPath | trimSuffix "/") -}}
{{- else -}}
/tmp/mlartifacts
{{- end -}}
{{- end -}}
