{{/*
Single sign-on: the oauth2-proxy sidecar in front of MLflow (shared/model/src/oidc.rs and
render/sign_in.rs, in their order and wording). MLflow listens on 127.0.0.1 then; the proxy owns
the pod's served port.
*/}}

{{/* "true" when the sign-in proxy guards the server. */}}
{{- define "mlflow.oidc" -}}
{{- if dig "enabled" false (.Values.oidc | default dict) -}}true{{- end -}}
{{- end -}}

{{/* "<host> <port>" of an http(s) issuer URL with a host (the port defaults by scheme), else "". */}}
{{- define "mlflow.issuerHostPort" -}}
{{- $url := toString . -}}
{{- $rest := "" -}}
{{- $port := 0 -}}
{{- if hasPrefix "https://" $url -}}
{{- $rest = trimPrefix "https://" $url -}}
{{- $port = 443 -}}
{{- else if hasPrefix "http://" $url -}}
{{- $rest = trimPrefix "http://" $url -}}
{{- $port = 80 -}}
{{- end -}}
{{- if $port -}}
{{- $hostPort := regexReplaceAll "^.*@" (regexReplaceAll "(?s)[/?#].*$" $rest "") "" -}}
{{- $host := $hostPort -}}
{{- if regexMatch ":[0-9]+$" $hostPort -}}
{{- $digits := regexFind "[0-9]+$" $hostPort -}}
{{- $host = trimSuffix (printf ":%s" $digits) $hostPort -}}
{{- $port = atoi $digits -}}
{{- end -}}
{{- if and $host (not (regexMatch "\\s" $host)) (or (hasPrefix "[" $host) (not (contains ":" $host))) (ge (int $port) 1) (le (int $port) 65535) -}}
{{ $host }} {{ $port }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "true" when the session cookie is Secure: oidc.cookieSecure, else when the server is reached
over HTTPS (tls.enabled, or an Ingress with TLS). */}}
{{- define "mlflow.oidcCookieSecure" -}}
{{- $given := dig "cookieSecure" nil .Values.oidc -}}
{{- if kindIs "invalid" $given -}}
{{- if or .Values.tls.enabled (and .Values.ingress.enabled .Values.ingress.tls) -}}true{{- end -}}
{{- else if $given -}}true{{- end -}}
{{- end -}}

{{/* The scopes asked for: oidc.scope, else "openid email profile", plus "groups" with allowedGroups. */}}
{{- define "mlflow.oidcScope" -}}
{{- if .Values.oidc.scope -}}
{{- .Values.oidc.scope -}}
{{- else if .Values.oidc.allowedGroups -}}
openid email profile groups
{{- else -}}
openid email profile
{{- end -}}
{{- end -}}

{{/* The proxy's image: repository:tag (the repository alone without a tag). */}}
{{- define "mlflow.oidcImage" -}}
{{- $image := .Values.oidc.image -}}
{{- if $image.tag -}}{{ printf "%s:%s" $image.repository $image.tag }}{{- else -}}{{ $image.repository }}{{- end -}}
{{- end -}}

{{/* The proxy's command line, as a YAML list. */}}
{{- define "mlflow.oidcArgs" -}}
{{- $oidc := .Values.oidc -}}
{{- $prefix := include "mlflow.staticPrefix" . -}}
{{- $quoted := regexQuoteMeta $prefix -}}
{{- $args := list "--provider=oidc" (printf "--oidc-issuer-url=%s" $oidc.issuerUrl) -}}
{{- if .Values.tls.enabled -}}
{{- $args = concat $args (list (printf "--https-address=0.0.0.0:%d" (int64 $oidc.port)) "--tls-cert-file=/etc/mlflow/tls/tls.crt" "--tls-key-file=/etc/mlflow/tls/tls.key") -}}
{{- else -}}
{{- $args = append $args (printf "--http-address=0.0.0.0:%d" (int64 $oidc.port)) -}}
{{- end -}}
{{- $args = append $args (printf "--upstream=http://127.0.0.1:%s/" (include "mlflow.port" .)) -}}
{{- $args = append $args (printf "--proxy-prefix=%s/oauth2" $prefix) -}}
{{- $args = concat $args (list "--reverse-proxy=true" "--skip-provider-button=true" "--skip-jwt-bearer-tokens=true" "--code-challenge-method=S256") -}}
{{- $args = append $args (printf "--cookie-secure=%s" (include "mlflow.oidcCookieSecure" . | default "false")) -}}
{{- $args = append $args (printf "--scope=%s" (include "mlflow.oidcScope" .)) -}}
{{- range $domain := $oidc.emailDomains | default list -}}
{{- if trim (toString $domain) -}}
{{- $args = append $args (printf "--email-domain=%s" $domain) -}}
{{- end -}}
{{- end -}}
{{- range $group := $oidc.allowedGroups | default list -}}
{{- $args = append $args (printf "--allowed-group=%s" $group) -}}
{{- end -}}
{{- range $issuer := $oidc.extraJwtIssuers | default list -}}
{{- $args = append $args (printf "--extra-jwt-issuers=%s" $issuer) -}}
{{- end -}}
{{- $args = append $args (printf "--skip-auth-route=GET=^%s/health$" $quoted) -}}
{{- if .Values.metrics.enabled -}}
{{- $args = append $args "--skip-auth-route=GET=^/metrics$" -}}
{{- end -}}
{{- if eq (toString $oidc.basicAuth) "api" -}}
{{- $args = append $args (printf "--skip-auth-route=^%s/api/" $quoted) -}}
{{- end -}}
{{- $args = append $args (printf "--api-route=^%s/api/" $quoted) -}}
{{- $args = append $args "--silence-ping-logging=true" -}}
{{- $args = concat $args ($oidc.extraArgs | default list) -}}
{{- toYaml $args -}}
{{- end -}}

{{/* The proxy container, as a YAML list item. */}}
{{- define "mlflow.oidcContainer" -}}
{{- $oidc := .Values.oidc -}}
{{- $portName := include "mlflow.portName" . -}}
- name: oauth2-proxy
  image: {{ include "mlflow.oidcImage" . | toJson }}
  imagePullPolicy: {{ $oidc.image.pullPolicy }}
  args:
    {{- include "mlflow.oidcArgs" . | nindent 4 }}
  ports:
    - name: {{ $portName }}
      containerPort: {{ int64 $oidc.port }}
      protocol: TCP
  env:
    - name: OAUTH2_PROXY_CLIENT_ID
      valueFrom:
        secretKeyRef:
          name: {{ $oidc.clientSecretName | toJson }}
          key: client-id
    - name: OAUTH2_PROXY_CLIENT_SECRET
      valueFrom:
        secretKeyRef:
          name: {{ $oidc.clientSecretName | toJson }}
          key: client-secret
    - name: OAUTH2_PROXY_COOKIE_SECRET
      valueFrom:
        secretKeyRef:
          name: {{ $oidc.cookieSecretName | toJson }}
          key: cookie-secret
  {{- with .Values.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $oidc.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- range $kind, $path := dict "liveness" "/ping" "readiness" "/ready" }}
  {{ $kind }}Probe:
    httpGet:
      path: {{ $path }}
      port: {{ $portName }}
      scheme: {{ $portName | upper }}
    periodSeconds: 10
    timeoutSeconds: 5
    failureThreshold: 3
  {{- end }}
  {{- if .Values.tls.enabled }}
  volumeMounts:
    - name: tls
      mountPath: /etc/mlflow/tls
      readOnly: true
  {{- end }}
{{- end -}}

{{/* What keeps the proxy from starting or anyone from signing in, one problem per line. */}}
{{- define "mlflow.oidcProblems" -}}
{{- $oidc := .Values.oidc | default dict -}}
{{- if $oidc.enabled -}}
{{- $errors := list -}}
{{- if empty $oidc.issuerUrl -}}
{{- $errors = append $errors "oidc.issuerUrl: no issuer is set; the sign-in needs the provider's issuer URL (e.g. https://login.example.com/realms/ml), or set oidc.enabled: false" -}}
{{- else if not (include "mlflow.issuerHostPort" $oidc.issuerUrl) -}}
{{- $errors = append $errors (printf "oidc.issuerUrl: \"%s\" is not an http(s) URL (e.g. https://login.example.com/realms/ml)" (toString $oidc.issuerUrl)) -}}
{{- end -}}
{{- range $key := list "clientSecretName" "cookieSecretName" -}}
{{- $name := toString (get $oidc $key | default "") -}}
{{- if not (include "mlflow.isDnsSubdomain" $name) -}}
{{- $errors = append $errors (printf "oidc.%s: \"%s\" is not a valid Secret name (lowercase letters, digits, '-' and '.', e.g. mlflow-oidc-client)" $key $name) -}}
{{- end -}}
{{- end -}}
{{- $domains := list -}}
{{- range $domain := $oidc.emailDomains | default list -}}
{{- if trim (toString $domain) -}}{{- $domains = append $domains $domain -}}{{- end -}}
{{- end -}}
{{- if not $domains -}}
{{- $errors = append $errors "oidc.emailDomains: no email domain is admitted, so nobody could sign in (e.g. [example.com], or [\"*\"] for any)" -}}
{{- end -}}
{{- $basicAuth := include "mlflow.basicAuth" . -}}
{{- $combine := toString ($oidc.basicAuth | default "") -}}
{{- if and $basicAuth (eq $combine "") -}}
{{- $errors = append $errors "oidc.basicAuth: basic auth (server.value_options.app_name: basic-auth) and oidc are both on without saying how they combine: set oidc.basicAuth: api (people sign in with the provider, then with MLflow's login; <staticPrefix>/api/ is left to MLflow's basic auth, for pipelines), or turn one of them off" -}}
{{- else if and (not $basicAuth) (eq $combine "api") -}}
{{- $errors = append $errors "oidc.basicAuth: \"api\" leaves the API to MLflow's basic auth, which is off (set server.value_options.app_name: basic-auth, or oidc.basicAuth: \"\")" -}}
{{- end -}}
{{- if eq (int64 $oidc.port) (int64 (include "mlflow.port" .)) -}}
{{- $errors = append $errors (printf "oidc.port: %d is MLflow's own port (server.value_options.port); the proxy needs another (e.g. 4180)" (int64 $oidc.port)) -}}
{{- end -}}
{{- range $i, $issuer := $oidc.extraJwtIssuers | default list -}}
{{- $issuer = toString $issuer -}}
{{- $parts := splitn "=" 2 $issuer -}}
{{- if not (and (contains "=" $issuer) (include "mlflow.issuerHostPort" $parts._0) $parts._1) -}}
{{- $errors = append $errors (printf "oidc.extraJwtIssuers[%d]: \"%s\" is not <issuer URL>=<audience> (e.g. https://login.example.com=mlflow)" $i $issuer) -}}
{{- end -}}
{{- end -}}
{{- $own := list "provider" "oidc-issuer-url" "http-address" "https-address" "tls-cert-file" "tls-key-file" "upstream" "proxy-prefix" "reverse-proxy" "skip-provider-button" "skip-jwt-bearer-tokens" "cookie-secure" "scope" "email-domain" "allowed-group" "extra-jwt-issuers" "skip-auth-route" "client-id" "client-secret" "cookie-secret" -}}
{{- range $i, $arg := $oidc.extraArgs | default list -}}
{{- $arg = toString $arg -}}
{{- $name := first (splitList "=" (trimPrefix "--" $arg)) -}}
{{- if or (not (hasPrefix "--" $arg)) (eq $name "") -}}
{{- $errors = append $errors (printf "oidc.extraArgs[%d]: \"%s\" is not an oauth2-proxy option (write --name=value, e.g. --cookie-expire=8h)" $i $arg) -}}
{{- else if has $name $own -}}
{{- $errors = append $errors (printf "oidc.extraArgs[%d]: --%s is set by the chart from its values (use the oidc.* keys instead)" $i $name) -}}
{{- end -}}
{{- end -}}
{{- $servesArtifacts := true -}}
{{- range $flag := .Values.server.flag_options | default list -}}
{{- if eq (include "mlflow.flagName" $flag) "no-serve-artifacts" -}}{{- $servesArtifacts = false -}}{{- end -}}
{{- end -}}
{{- if and .Values.garbageCollection.enabled (ne $combine "api") $servesArtifacts -}}
{{- $errors = append $errors "garbageCollection.enabled: mlflow gc deletes the artifacts the server proxies through the server, and the sign-in (oidc) turns it away: set oidc.basicAuth: api with basic auth, or server.flag_options: [no_serve_artifacts] with a bucket in mlflow.defaultArtifactRoot, or turn garbage collection off" -}}
{{- end -}}
{{- join "\n" $errors -}}
{{- end -}}
{{- end -}}
