{{/*
What the kubelet refuses when it creates a container: the checks of shared/model/src/kubelet.rs, in
its order and wording. With runAsNonRoot true (the container's securityContext over the pod's), a
runAsUser of 0 is refused, and so is no runAsUser with an image that runs as root: MLflow's own
images (ghcr.io/mlflow/mlflow) set no USER. On OpenShift the SCC assigns runAsUser.
*/}}

{{/* An image reference without its digest and tag. */}}
{{- define "mlflow.imageRepository" -}}
{{- regexReplaceAll ":[^/:]*$" (regexReplaceAll "@.*$" (toString .) "") "" -}}
{{- end -}}

{{/* The problems, one per line. */}}
{{- define "mlflow.kubeletProblems" -}}
{{- $pod := include "mlflow.podSecurityContext" . | fromYaml | default dict -}}
{{- $openshift := include "mlflow.openshift" . -}}
{{- $containers := list (dict "what" "the mlflow container (and the GC and migration containers)" "context" (.Values.securityContext | default dict) "own" "securityContext" "image" (include "mlflow.image" .)) -}}
{{- range $pair := list (list "extraContainers" .Values.extraContainers) (list "extraInitContainers" .Values.extraInitContainers) -}}
{{- range $i, $c := index $pair 1 | default list -}}
{{- $containers = append $containers (dict "what" (printf "the %s container" (toString (get $c "name"))) "context" (get $c "securityContext" | default dict) "own" (printf "%s[%d].securityContext" (index $pair 0) $i) "image" (toString (get $c "image"))) -}}
{{- end -}}
{{- end -}}
{{- $seen := list -}}
{{- range $c := $containers -}}
{{- $nonRoot := "" -}}
{{- $nonRootAt := "" -}}
{{- if hasKey $c.context "runAsNonRoot" -}}
{{- $nonRoot = toString (get $c.context "runAsNonRoot") -}}{{- $nonRootAt = printf "%s.runAsNonRoot" $c.own -}}
{{- else if hasKey $pod "runAsNonRoot" -}}
{{- $nonRoot = toString (get $pod "runAsNonRoot") -}}{{- $nonRootAt = "podSecurityContext.runAsNonRoot" -}}
{{- end -}}
{{- $user := "" -}}
{{- $userAt := "" -}}
{{- if and (hasKey $c.context "runAsUser") (not (kindIs "invalid" (get $c.context "runAsUser"))) -}}
{{- $user = toString (get $c.context "runAsUser") -}}{{- $userAt = printf "%s.runAsUser" $c.own -}}
{{- else if and (hasKey $pod "runAsUser") (not (kindIs "invalid" (get $pod "runAsUser"))) -}}
{{- $user = toString (get $pod "runAsUser") -}}{{- $userAt = "podSecurityContext.runAsUser" -}}
{{- end -}}
{{- if eq $nonRoot "true" -}}
{{- if eq $user "0" -}}
{{- if not (has $userAt $seen) }}
{{ $userAt }}: 0 (root) with {{ $nonRootAt }}: true: the kubelet would refuse to start {{ $c.what }} ("container's runAsUser breaks non-root policy") (use another user id, e.g. 1000, or set runAsNonRoot: false)
{{- $seen = append $seen $userAt -}}
{{- end -}}
{{- else if and (eq $user "") (not $openshift) (eq (include "mlflow.imageRepository" $c.image) "ghcr.io/mlflow/mlflow") -}}
{{- if not (has $nonRootAt $seen) }}
{{ $nonRootAt }}: true, but no runAsUser is set and the image {{ $c.image }} runs as root (MLflow's images set no USER): the kubelet would refuse to start {{ $c.what }} ("container has runAsNonRoot and image will run as root") (set podSecurityContext.runAsUser, e.g. 1000, or runAsNonRoot: false)
{{- $seen = append $seen $nonRootAt -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
