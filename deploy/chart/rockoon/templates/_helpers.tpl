{{/*
Name of the application, for the app.kubernetes.io/name label.
*/}}
{{- define "rockoon.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Name of every object the chart creates: fullnameOverride, else the name (`rockoon`).
The suite is one per cluster (it watches cluster-scoped Nodes), so the release name is not
part of it.
*/}}
{{- define "rockoon.fullname" -}}
{{- .Values.fullnameOverride | default (include "rockoon.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Name of the ServiceAccount the pod runs as.
*/}}
{{- define "rockoon.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "rockoon.fullname" .) -}}
{{- end -}}

{{/*
Labels that select the pod (Deployment selector, Service, PodMonitor). Never change them:
a Deployment's selector is immutable.
*/}}
{{- define "rockoon.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rockoon.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels of every object.
*/}}
{{- define "rockoon.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "rockoon.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rockoon
{{- end -}}

{{/*
The five controllers, in container order: container name, binary and admin port name
(port names are limited to 15 characters). Their settings are `.Values.controllers.<name>`.
*/}}
{{- define "rockoon.controllers" -}}
- name: osdpl
  binary: rockoon-osdpl
  portName: m-osdpl
- name: secrets
  binary: rockoon-secrets
  portName: m-secrets
- name: health
  binary: rockoon-health
  portName: m-health
- name: node
  binary: rockoon-node
  portName: m-node
- name: ceph-exchange
  binary: rockoon-ceph-exchange
  portName: m-ceph
{{- end -}}

{{/*
Settings of one controller (`.Values.controllers.<name>`), failing with a clear message when
they or their port are missing. Call with (dict "root" $ "name" "osdpl"); returns them as YAML
(read back with fromYaml).
*/}}
{{- define "rockoon.controllerValues" -}}
{{- $v := index .root.Values.controllers .name -}}
{{- if not $v -}}
{{- fail (printf "values: controllers.%s is missing (the five controllers always run)" .name) -}}
{{- end -}}
{{- if not $v.port -}}
{{- fail (printf "values: controllers.%s.port is required" .name) -}}
{{- end -}}
{{- toYaml $v -}}
{{- end -}}

{{/*
Admin ports of the controllers, as a name -> port dict in YAML, failing if two controllers share
a port (the containers share the pod network).
*/}}
{{- define "rockoon.ports" -}}
{{- $ports := dict -}}
{{- $seen := dict -}}
{{- range $c := include "rockoon.controllers" . | fromYamlArray -}}
{{- $v := include "rockoon.controllerValues" (dict "root" $ "name" $c.name) | fromYaml -}}
{{- $port := int $v.port -}}
{{- if hasKey $seen (toString $port) -}}
{{- fail (printf "values: controllers.%s.port %d is already used by controllers.%s.port" $c.name $port (get $seen (toString $port))) -}}
{{- end -}}
{{- $_ := set $seen (toString $port) $c.name -}}
{{- $_ := set $ports $c.name $port -}}
{{- end -}}
{{- toYaml $ports -}}
{{- end -}}

{{/*
Image of one controller. Call with (dict "root" $ "values" <controller values>).
*/}}
{{- define "rockoon.image" -}}
{{- $image := .values.image | default dict -}}
{{- $repository := $image.repository | default .root.Values.image.repository -}}
{{- $tag := $image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repository (toString $tag) -}}
{{- end -}}
