{{/*
Object writers. `ctx` is (dict "root" $ "app" application "group" release_group); `v` is the
values the object is rendered from (the release values, or a per-node variant of them).
*/}}

{{/* dt.labels: (dict "ctx" "component") -> the OpenStack-Helm labels. */}}
{{- define "dt.labels" -}}
application: {{ .ctx.app | toJson }}
component: {{ .component | toJson }}
release_group: {{ .ctx.group | toJson }}
{{- end -}}

{{/* dt.confText: values -> the text stored in a conf Secret (conf without its overrides, and endpoints). */}}
{{- define "dt.confText" -}}
{{- $conf := .conf -}}
{{- if kindIs "map" $conf }}{{ $conf = omit $conf "overrides" }}{{ end -}}
{{- dict "conf" $conf "endpoints" .endpoints | toYaml -}}
{{- end -}}

{{/* dt.secret: (dict "ctx" "name" "component" "data" map-of-strings ["type"] ["annotations"]) */}}
{{- define "dt.secret" -}}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ .name | toJson }}
  labels:
    {{- include "dt.labels" . | nindent 4 }}
  {{- with .annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
type: {{ .type | default "Opaque" }}
data:
  {{- range $key, $text := .data }}
  {{ $key | toJson }}: {{ b64enc (toString $text) | toJson }}
  {{- end }}
{{ end -}}

{{/*
dt.service: (dict "ctx" "v" "s" service-spec). Service spec keys:
  name | endpoint + host (endpoint type, default "default") + default_name,
  component (selected pods and label), headless, ports: [{name, port, default, protocol}].
*/}}
{{- define "dt.service" -}}
{{- $s := .s -}}
{{- $v := .v -}}
{{- $name := $s.name -}}
{{- if not $name -}}
{{- $name = include "dt.host" (dict "v" $v "endpoint" $s.endpoint "type" $s.host "default" $s.default_name) -}}
{{- end -}}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name | toJson }}
  labels:
    {{- include "dt.labels" (dict "ctx" .ctx "component" $s.component) | nindent 4 }}
spec:
  {{- if $s.headless }}
  clusterIP: None
  publishNotReadyAddresses: true
  {{- end }}
  selector:
    {{- include "dt.labels" (dict "ctx" .ctx "component" $s.component) | nindent 4 }}
  ports:
    {{- range $p := $s.ports }}
    {{- $n := include "dt.port" (dict "v" $v "endpoint" $s.endpoint "port" $p.port "default" $p.default) }}
    - name: {{ $p.name | toJson }}
      port: {{ $n }}
      targetPort: {{ $n }}
      protocol: {{ $p.protocol | default "TCP" }}
    {{- end }}
{{ end -}}

{{/*
dt.workload: (dict "ctx" "v" "o" object-spec "name" "hash" "affinity" list "annotations" map).
Object spec keys: kind (Deployment, StatefulSet, DaemonSet, Job, CronJob), name, component,
manifest, replicas (pod.replicas key), default_replicas, labels (labels.<dotted path>), image
(images.tags key), container, ports [{name, endpoint, port, default}], sidecars [{name, image}],
service_name (StatefulSet), schedule (CronJob), backoff_limit (Job, CronJob).
*/}}
{{- define "dt.workload" -}}
{{- $o := .o -}}
{{- $kind := $o.kind -}}
{{- $name := .name | default $o.name -}}
{{- $labels := include "dt.labels" (dict "ctx" .ctx "component" $o.component) -}}
{{- $pod := dict "ctx" .ctx "v" .v "o" $o "name" $name "labels" $labels "hash" .hash "affinity" .affinity -}}
---
apiVersion: {{ if or (eq $kind "Job") (eq $kind "CronJob") }}batch/v1{{ else }}apps/v1{{ end }}
kind: {{ $kind }}
metadata:
  name: {{ $name | toJson }}
  labels:
    {{- $labels | nindent 4 }}
  {{- with .annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
{{- if eq $kind "CronJob" }}
  schedule: {{ $o.schedule | default "0 * * * *" | toString | toJson }}
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 1
  failedJobsHistoryLimit: 1
  jobTemplate:
    spec:
      backoffLimit: {{ ternary $o.backoff_limit 1 (hasKey $o "backoff_limit") | int }}
      template:
        {{- include "dt.podTemplate" (set $pod "job" true) | nindent 8 }}
{{- else if eq $kind "Job" }}
  backoffLimit: {{ ternary $o.backoff_limit 2 (hasKey $o "backoff_limit") | int }}
  template:
    {{- $_ := set $pod "job" true }}
    {{- $_ := set $pod "hash" "" }}
    {{- include "dt.podTemplate" $pod | nindent 4 }}
{{- else }}
  {{- if ne $kind "DaemonSet" }}
  replicas: {{ include "dt.replicas" (dict "v" .v "key" $o.replicas "default" ($o.default_replicas | default 1)) }}
  {{- end }}
  {{- if eq $kind "StatefulSet" }}
  serviceName: {{ $o.service_name | default $name | toJson }}
  podManagementPolicy: Parallel
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- $labels | nindent 6 }}
  template:
    {{- include "dt.podTemplate" $pod | nindent 4 }}
{{- end }}
{{ end -}}

{{/* dt.podTemplate: the pod template of dt.workload. */}}
{{- define "dt.podTemplate" -}}
{{- $v := .v -}}
{{- $o := .o -}}
{{- $pullPolicy := include "dt.str" (dict "v" $v "path" "images.pull_policy" "default" "IfNotPresent") -}}
metadata:
  labels:
    {{- .labels | nindent 4 }}
  {{- if .hash }}
  annotations:
    configmap-etc-hash: {{ .hash | toJson }}
  {{- end }}
spec:
  {{- if .job }}
  restartPolicy: Never
  {{- end }}
  nodeSelector:
    {{- include "dt.nodeSelector" (dict "v" $v "path" $o.labels) | nindent 4 }}
  {{- with .affinity }}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              {{- toYaml . | nindent 14 }}
  {{- end }}
  terminationGracePeriodSeconds: 10
  containers:
    - name: {{ $o.container | default $o.component | replace "_" "-" | toJson }}
      image: {{ include "dt.image" (dict "v" $v "key" $o.image "for" .name) | toJson }}
      imagePullPolicy: {{ $pullPolicy | toJson }}
      {{- with $o.ports }}
      ports:
        {{- range $p := . }}
        - name: {{ $p.name | toJson }}
          containerPort: {{ include "dt.port" (dict "v" $v "endpoint" $p.endpoint "port" $p.port "default" $p.default) }}
          protocol: {{ $p.protocol | default "TCP" }}
        {{- end }}
      {{- end }}
    {{- range $c := $o.sidecars }}
    - name: {{ $c.name | toJson }}
      image: {{ include "dt.image" (dict "v" $v "key" $c.image "for" $.name) | toJson }}
      imagePullPolicy: {{ $pullPolicy | toJson }}
    {{- end }}
{{- end -}}
