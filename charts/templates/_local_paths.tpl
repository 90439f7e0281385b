{{/*
Stores on the pod's file system: the checks of shared/model/src/local_paths.rs, in its order and
wording. The root is read-only, so a SQLite database, a file store or local artifacts must lie
under a writable volume (storage.mountPath, or an extraVolumeMounts entry that is not readOnly) or,
with a warning that it is lost on restart, in the pod's /tmp (an emptyDir of each pod); SQLite has
one writer, so it cannot serve several replicas, and what is in one pod's /tmp serves that pod only.
*/}}

{{/* The scheme family of a URI, as store_uri::family: "postgresql" for postgresql+psycopg2://, "" for a path. */}}
{{- define "mlflow.uriFamily" -}}
{{- $uri := toString . -}}
{{- $scheme := "" -}}
{{- $found := false -}}
{{- if contains "://" $uri -}}{{- $scheme = first (splitList "://" $uri) -}}{{- $found = true -}}
{{- else if contains ":" $uri -}}{{- $scheme = first (splitList ":" $uri) -}}{{- $found = true -}}
{{- end -}}
{{- if and $found (not (contains "/" $scheme)) -}}{{- first (splitList "+" $scheme) -}}{{- end -}}
{{- end -}}

{{/* A URI with the password of its user part replaced by ***, as store_uri::mask. */}}
{{- define "mlflow.maskUri" -}}
{{- regexReplaceAll "^((?:[^:/?]+://)?[^:?]*?):[^?]*@([^@?]*(?:\\?.*)?)$" (toString .) "${1}:***@${2}" -}}
{{- end -}}

{{/* "@" + where a store URI keeps its data on the pod (the SQLite file, the file store's path), else "". */}}
{{- define "mlflow.localPath" -}}
{{- $uri := toString . -}}
{{- $family := lower (include "mlflow.uriFamily" $uri) -}}
{{- if eq $uri "" -}}
{{- else if eq $family "sqlite" -}}
{{- if contains "://" $uri -}}
{{- $scheme := first (splitList "://" $uri) -}}
{{- if has (lower $scheme) (list "sqlite" "sqlite+pysqlite" "sqlite+pysqlcipher") -}}
{{- $path := first (splitList "?" (substr (int (add (len $scheme) 3)) (len $uri) $uri)) -}}
{{- $path = ternary (substr 1 (len $path) $path) "" (hasPrefix "/" $path) -}}
{{- if hasPrefix "/" $path -}}@{{ $path }}{{- end -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- include "mlflow.filePath" $uri -}}
{{- end -}}
{{- end -}}

{{/* "@" + the path of a local path or file: URI, else "". */}}
{{- define "mlflow.filePath" -}}
{{- $uri := toString . -}}
{{- $family := include "mlflow.uriFamily" $uri -}}
{{- if eq $family "" -}}
@{{ $uri }}
{{- else if eq (lower $family) "file" -}}
{{- $rest := substr (int (add (len $family) 1)) (len $uri) $uri -}}
{{- if and (hasPrefix "//" $rest) (hasPrefix "/" (trimPrefix "//" $rest)) -}}@{{ trimPrefix "//" $rest }}{{- else -}}@{{ $rest }}{{- end -}}
{{- end -}}
{{- end -}}

{{/* The mount paths the server may write to, as a JSON list. */}}
{{- define "mlflow.writableMounts" -}}
{{- $mounts := list -}}
{{- if .Values.storage.enabled -}}{{- $mounts = append $mounts (toString .Values.storage.mountPath) -}}{{- end -}}
{{- range $m := .Values.extraVolumeMounts | default list -}}
{{- if not (get $m "readOnly") -}}{{- $mounts = append $mounts (toString (get $m "mountPath")) -}}{{- end -}}
{{- end -}}
{{- toJson $mounts -}}
{{- end -}}

{{/* "true" when a path lies in the pod's /tmp (the emptyDir mounted in every MLflow container). */}}
{{- define "mlflow.underTmp" -}}
{{- if or (eq . "/tmp") (hasPrefix "/tmp/" .) -}}true{{- end -}}
{{- end -}}

{{/* "true" when a path lies in the pod's /tmp and on no writable volume (list: root context, path). */}}
{{- define "mlflow.onTmp" -}}
{{- $root := index . 0 -}}
{{- $path := index . 1 -}}
{{- $under := false -}}
{{- range $m := include "mlflow.writableMounts" $root | fromJsonArray -}}
{{- $m = regexReplaceAll "/+$" $m "" -}}
{{- if and $m (or (eq $path $m) (hasPrefix (printf "%s/" $m) $path)) -}}{{- $under = true -}}{{- end -}}
{{- end -}}
{{- if and (include "mlflow.underTmp" $path) (not $under) -}}true{{- end -}}
{{- end -}}

{{/* The stores kept on the pod's /tmp, as a JSON list of {key, path, sqlite, what, fix}, as
local_paths::ephemeral_stores. */}}
{{- define "mlflow.ephemeralStores" -}}
{{- $root := . -}}
{{- $m := .Values.mlflow -}}
{{- $mount := "/mlflow" -}}
{{- $storage := "set storage.enabled: true and " -}}
{{- if .Values.storage.enabled -}}
{{- $mount = trimSuffix "/" (toString .Values.storage.mountPath) -}}
{{- $storage = "" -}}
{{- end -}}
{{- $authDb := "" -}}
{{- if include "mlflow.basicAuth" . -}}{{- $authDb = toString .Values.auth.databaseUri -}}{{- end -}}
{{- $found := list -}}
{{- range $pair := list (list "mlflow.backendStoreUri" (toString $m.backendStoreUri)) (list "mlflow.registryStoreUri" (toString $m.registryStoreUri)) (list "auth.databaseUri" $authDb) -}}
{{- $uri := index $pair 1 -}}
{{- $local := include "mlflow.localPath" $uri -}}
{{- if and $local (include "mlflow.onTmp" (list $root (trimPrefix "@" $local))) -}}
{{- $path := trimPrefix "@" $local -}}
{{- $name := last (splitList "/" $path) -}}
{{- $sqlite := eq (lower (include "mlflow.uriFamily" $uri)) "sqlite" -}}
{{- $example := ternary (printf "sqlite:///%s/%s" $mount $name) (printf "%s/%s" $mount $name) $sqlite -}}
{{- $what := printf "\"%s\": %s is" (include "mlflow.maskUri" $uri) $path -}}
{{- $fix := printf "to keep it, %sput it under storage.mountPath, e.g. %s" $storage $example -}}
{{- $found = append $found (dict "key" (index $pair 0) "path" $path "sqlite" $sqlite "what" $what "fix" $fix) -}}
{{- end -}}
{{- end -}}
{{- $dest := toString $m.artifactsDestination -}}
{{- if and (eq $dest "") (eq (include "mlflow.artifactsDestination" .) "/tmp/mlartifacts") -}}
{{- $fix := printf "to keep them, set storage.enabled: true (they then go to %s/artifacts), or set mlflow.artifactsDestination to a bucket, e.g. s3://bucket/path" $mount -}}
{{- $found = append $found (dict "key" "mlflow.artifactsDestination" "path" "/tmp/mlartifacts" "sqlite" false "what" "not set, so the server keeps artifacts in /tmp/mlartifacts," "fix" $fix) -}}
{{- else if $dest -}}
{{- $local := include "mlflow.filePath" $dest -}}
{{- if and $local (include "mlflow.onTmp" (list $root (trimPrefix "@" $local))) -}}
{{- $path := trimPrefix "@" $local -}}
{{- $what := printf "\"%s\": %s is" (include "mlflow.maskUri" $dest) $path -}}
{{- $fix := printf "to keep it, %sput it under storage.mountPath, e.g. %s/artifacts" $storage $mount -}}
{{- $found = append $found (dict "key" "mlflow.artifactsDestination" "path" $path "sqlite" false "what" $what "fix" $fix) -}}
{{- end -}}
{{- end -}}
{{- toJson $found -}}
{{- end -}}

{{/* The warnings of stores kept on the pod's /tmp, one per line, as local_paths::warnings. */}}
{{- define "mlflow.ephemeralWarnings" -}}
{{- range $store := include "mlflow.ephemeralStores" . | fromJsonArray }}
{{ $store.key }}: {{ $store.what }} on the pod's /tmp, an emptyDir: the data is lost when the pod restarts ({{ $store.fix }})
{{- end -}}
{{- end -}}

{{/* What is wrong with keeping data at a path (list: root context, path), else "". */}}
{{- define "mlflow.placementProblem" -}}
{{- $root := index . 0 -}}
{{- $path := index . 1 -}}
{{- $mounts := include "mlflow.writableMounts" $root | fromJsonArray -}}
{{- if not (hasPrefix "/" $path) -}}
{{- $example := "/mlflow" -}}
{{- if $mounts -}}{{- $example = trimSuffix "/" (first $mounts) -}}{{- end -}}
{{- printf "\"%s\" is a relative path, resolved in the server's working directory on the read-only root (use an absolute path under a volume, e.g. %s/%s)" $path $example $path -}}
{{- else -}}
{{- $under := include "mlflow.underTmp" $path -}}
{{- range $m := $mounts -}}
{{- $m = regexReplaceAll "/+$" $m "" -}}
{{- if and $m (or (eq $path $m) (hasPrefix (printf "%s/" $m) $path)) -}}{{- $under = true -}}{{- end -}}
{{- end -}}
{{- if not $under -}}
{{- $fix := "set storage.enabled: true and put it under storage.mountPath (/mlflow by default), or mount a volume there with extraVolumes and extraVolumeMounts" -}}
{{- if $root.Values.storage.enabled -}}
{{- $fix = printf "put it under storage.mountPath %s, or under the mountPath of a writable extraVolumeMounts entry" (toString $root.Values.storage.mountPath) -}}
{{- end -}}
{{- printf "%s is on no writable volume: the container's root is read-only and /tmp is lost on restart (%s)" $path $fix -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The problems of local stores, one per line. */}}
{{- define "mlflow.localPathProblems" -}}
{{- $root := . -}}
{{- $m := .Values.mlflow -}}
{{- $authDb := "" -}}
{{- if include "mlflow.basicAuth" . -}}{{- $authDb = toString .Values.auth.databaseUri -}}{{- end -}}
{{- range $pair := list (list "mlflow.backendStoreUri" (toString $m.backendStoreUri)) (list "mlflow.registryStoreUri" (toString $m.registryStoreUri)) (list "auth.databaseUri" $authDb) -}}
{{- $uri := index $pair 1 -}}
{{- $local := include "mlflow.localPath" $uri -}}
{{- if $local -}}
{{- with include "mlflow.placementProblem" (list $root (trimPrefix "@" $local)) }}
{{ index $pair 0 }}: "{{ include "mlflow.maskUri" $uri }}": {{ . }}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $dest := toString $m.artifactsDestination -}}
{{- if $dest -}}
{{- $schemes := list "file" "s3" "r2" "b2" "gs" "wasbs" "abfss" "ftp" "sftp" "dbfs" "hdfs" "viewfs" "runs" "models" "http" "https" "mlflow-artifacts" -}}
{{- $scheme := lower (include "mlflow.uriFamily" $dest) -}}
{{- if and $scheme (not (has $scheme $schemes)) }}
mlflow.artifactsDestination: "{{ include "mlflow.maskUri" $dest }}": MLflow has no artifact store for the scheme "{{ $scheme }}" (use one of {{ join ", " $schemes }}, or an absolute path on a volume)
{{- else -}}
{{- $local := include "mlflow.filePath" $dest -}}
{{- if $local -}}
{{- with include "mlflow.placementProblem" (list $root (trimPrefix "@" $local)) }}
mlflow.artifactsDestination: "{{ include "mlflow.maskUri" $dest }}": {{ . }}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- $sqlite := "" -}}
{{- range $pair := list (list "mlflow.backendStoreUri" (toString $m.backendStoreUri)) (list "mlflow.registryStoreUri" (toString $m.registryStoreUri)) -}}
{{- if and (not $sqlite) (eq (lower (include "mlflow.uriFamily" (index $pair 1))) "sqlite") -}}{{- $sqlite = index $pair 0 -}}{{- end -}}
{{- end -}}
{{- if and (not $sqlite) (include "mlflow.basicAuth" .) (or (eq (toString .Values.auth.databaseUri) "") (eq (lower (include "mlflow.uriFamily" .Values.auth.databaseUri)) "sqlite")) -}}
{{- $sqlite = "auth.databaseUri" -}}
{{- end -}}
{{- if $sqlite }}
replicaCount: {{ int .Values.replicaCount }} replicas cannot share the SQLite database of {{ $sqlite }}: SQLite has one writer (set replicaCount: 1, or use a PostgreSQL, MySQL or MSSQL database)
{{- end -}}
{{- end -}}
{{- /* one pod: what is in a pod's own /tmp */ -}}
{{- $stores := include "mlflow.ephemeralStores" . | fromJsonArray -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- $shared := list -}}
{{- range $store := $stores -}}{{- if not $store.sqlite -}}{{- $shared = append $shared $store -}}{{- end -}}{{- end -}}
{{- with $shared -}}
{{- $store := first . }}
replicaCount: {{ int $.Values.replicaCount }} replicas would each keep their own {{ $store.path }} ({{ $store.key }}) in their own /tmp (set replicaCount: 1, or put {{ $store.key }} on a volume every replica mounts, or in a bucket)
{{- end -}}
{{- end -}}
{{- if .Values.garbageCollection.enabled -}}
{{- range $store := $stores -}}
{{- if eq $store.key "mlflow.backendStoreUri" }}
garbageCollection.enabled: the GC job runs in a pod of its own and cannot reach the backend store {{ $store.path }} in the server pod's /tmp (put it on a volume: storage.enabled: true and a path under storage.mountPath; or set garbageCollection.enabled: false)
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
