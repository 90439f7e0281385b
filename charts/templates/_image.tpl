{{/*
The server image and what MLflow's slim image lacks: the checks of shared/model/src/image.rs, in
its order and wording. The official ghcr.io/mlflow/mlflow:vX is `pip install mlflow` alone; values
that need an extra (a database driver, a cloud storage client, basic auth, metrics) are refused with
it. Any other repository is not checked.
*/}}

{{/* Image tag: image.tag, else "v" + appVersion + "-full". */}}
{{- define "mlflow.imageTag" -}}
{{- .Values.image.tag | default (printf "v%s-full" .Chart.AppVersion) -}}
{{- end -}}

{{/* Image reference: repository:tag. */}}
{{- define "mlflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "mlflow.imageTag" .) -}}
{{- end -}}

{{/* The Python module a database URL (the argument) needs, else "". */}}
{{- define "mlflow.driverModule" -}}
{{- $modules := dict "postgresql" "psycopg2" "postgresql+psycopg2" "psycopg2" "postgresql+psycopg" "psycopg" "postgresql+pg8000" "pg8000" "postgresql+psycopg2cffi" "psycopg2cffi" "mysql" "MySQLdb" "mysql+mysqldb" "MySQLdb" "mysql+pymysql" "pymysql" "mysql+mysqlconnector" "mysql.connector" "mysql+mariadbconnector" "mariadb" "mysql+cymysql" "cymysql" "mysql+pyodbc" "pyodbc" "mssql" "pyodbc" "mssql+pyodbc" "pyodbc" "mssql+pymssql" "pymssql" -}}
{{- $uri := toString . -}}
{{- if contains "://" $uri -}}
{{- get $modules (lower (first (splitList "://" $uri))) -}}
{{- end -}}
{{- end -}}

{{/* The client module of an artifact store URI (the argument), else "". */}}
{{- define "mlflow.artifactModule" -}}
{{- $modules := dict "s3" "boto3" "gs" "google.cloud.storage" "wasbs" "azure.storage.blob" "abfss" "azure.storage.filedatalake" -}}
{{- $uri := toString . -}}
{{- if contains "://" $uri -}}
{{- get $modules (lower (first (splitList "://" $uri))) -}}
{{- end -}}
{{- end -}}

{{/* One line "path|what|module" per module the values need. */}}
{{- define "mlflow.imageNeeds" -}}
{{- $m := .Values.mlflow -}}
{{- range $pair := list (list "mlflow.backendStoreUri" $m.backendStoreUri) (list "mlflow.registryStoreUri" $m.registryStoreUri) -}}
{{- $uri := index $pair 1 | default "" | toString -}}
{{- with include "mlflow.driverModule" $uri }}
{{ index $pair 0 }}|the {{ lower (first (splitList "+" (first (splitList "://" $uri)))) }} store|{{ . }}
{{- end -}}
{{- end -}}
{{- range $pair := list (list "mlflow.defaultArtifactRoot" $m.defaultArtifactRoot) (list "mlflow.artifactsDestination" $m.artifactsDestination) -}}
{{- $uri := index $pair 1 | default "" | toString -}}
{{- with include "mlflow.artifactModule" $uri }}
{{ index $pair 0 }}|the {{ lower (first (splitList "://" $uri)) }}:// artifact store|{{ . }}
{{- end -}}
{{- end -}}
{{- if include "mlflow.basicAuth" . -}}
{{- $uri := .Values.auth.databaseUri | default "" | toString -}}
{{- with include "mlflow.driverModule" $uri }}
auth.databaseUri|the {{ lower (first (splitList "+" (first (splitList "://" $uri)))) }} store|{{ . }}
{{- end }}
server.value_options.app_name|basic auth (server.value_options.app_name: basic-auth)|flask_wtf
{{- end -}}
{{- if .Values.metrics.enabled }}
metrics.enabled|metrics (--expose-prometheus)|prometheus_flask_exporter
{{- end -}}
{{- end -}}

{{/* The problems of the image, one per line (empty when none). */}}
{{- define "mlflow.imageProblems" -}}
{{- $tag := include "mlflow.imageTag" . -}}
{{- $image := include "mlflow.image" . -}}
{{- if and (eq (toString .Values.image.repository) "ghcr.io/mlflow/mlflow") (not (contains "-full" $tag)) -}}
{{- range $line := splitList "\n" (include "mlflow.imageNeeds" .) -}}
{{- if $line -}}
{{- $need := splitList "|" $line }}
{{ printf "%s: %s needs the Python module %s, which the image %s lacks (set image.tag to %s-full, MLflow's image with its extras, or use an image of your own that has %s)" (index $need 0) (index $need 1) (index $need 2) $image $tag (index $need 2) }}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
