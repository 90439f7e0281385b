{{/*
Problems of autoscaling, one per line (the model's shared/model/src/autoscaling.rs, in its order
and wording): a target it can measure, bounds in order, pods that may run on several nodes, and a
PodDisruptionBudget that still lets a drain evict a pod at the minimum.
*/}}
{{- define "mlflow.autoscalingProblems" -}}
{{- $scale := .Values.autoscaling | default dict -}}
{{- if $scale.enabled -}}
{{- $min := int $scale.minReplicas -}}
{{- $max := int $scale.maxReplicas -}}
{{- if gt $min $max }}
autoscaling.minReplicas: {{ $min }} is above autoscaling.maxReplicas {{ $max }} (lower it, or raise maxReplicas)
{{- end -}}
{{- $cpu := dig "targetCPUUtilizationPercentage" nil $scale -}}
{{- $memory := dig "targetMemoryUtilizationPercentage" nil $scale -}}
{{- if and (kindIs "invalid" $cpu) (kindIs "invalid" $memory) }}
autoscaling.targetCPUUtilizationPercentage: the autoscaler needs a target (set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage)
{{- end -}}
{{- $requests := dig "requests" dict (.Values.resources | default dict) | default dict -}}
{{- range $pair := list (list "targetCPUUtilizationPercentage" "cpu" $cpu) (list "targetMemoryUtilizationPercentage" "memory" $memory) -}}
{{- $key := index $pair 0 -}}
{{- $resource := index $pair 1 -}}
{{- if and (not (kindIs "invalid" (index $pair 2))) (not (hasKey $requests $resource)) }}
autoscaling.{{ $key }}: utilization is measured against resources.requests.{{ $resource }}, which is not set (set it, or {{ $key }}: null)
{{- end -}}
{{- end -}}
{{- $storage := .Values.storage -}}
{{- if and $storage.enabled (hasPrefix "ReadWriteOnce" (toString $storage.accessMode)) }}
autoscaling.enabled: the server pods would share the {{ $storage.accessMode }} volume of storage, which pods on other nodes cannot mount (storage.accessMode: ReadWriteMany, or autoscaling.enabled: false)
{{- end -}}
{{- $budget := .Values.podDisruptionBudget | default dict -}}
{{- if and $budget.enabled (gt $min 1) -}}
{{- $floor := dig "minAvailable" nil $budget -}}
{{- $most := dig "maxUnavailable" nil $budget -}}
{{- $field := "" -}}{{- $given := "" -}}
{{- if not (kindIs "invalid" $floor) -}}{{- $field = "minAvailable" -}}{{- $given = $floor -}}
{{- else if not (kindIs "invalid" $most) -}}{{- $field = "maxUnavailable" -}}{{- $given = $most -}}
{{- end -}}
{{- if $field -}}
{{- $scaled := "" -}}
{{- if kindIs "string" $given -}}
{{- if and (hasSuffix "%" $given) (regexMatch "^[0-9]+(\\.[0-9]+)?$" (trimSuffix "%" $given)) -}}
{{- $scaled = int (ceil (divf (mulf (float64 (trimSuffix "%" $given)) $min) 100)) -}}
{{- end -}}
{{- else -}}
{{- $scaled = int $given -}}
{{- end -}}
{{- if not (kindIs "string" $scaled) -}}
{{- $allowed := ternary (sub $min $scaled) $scaled (eq $field "minAvailable") -}}
{{- if lt (int $allowed) 1 -}}
{{- $fix := ternary "raise autoscaling.minReplicas, or lower podDisruptionBudget.minAvailable" "set podDisruptionBudget.maxUnavailable to 1 or more" (eq $field "minAvailable") -}}
{{- $shown := ternary (printf "%q" (toString $given)) (toString (int $given)) (kindIs "string" $given) }}
autoscaling.minReplicas: at {{ $min }} replicas the PodDisruptionBudget ({{ $field }}: {{ $shown }}) lets no pod be evicted, so node drains would wait forever ({{ $fix }})
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
