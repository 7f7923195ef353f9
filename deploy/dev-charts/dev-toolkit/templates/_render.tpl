{{/*
dt.render: the entry point of every dev chart.

  {{ include "dt.render" (dict "root" . "spec" (include "<chart>.spec" . | fromYaml)) }}

The spec (YAML written by the chart, see docs/dev-charts.md) lists:
  application: the `application` label of everything
  etc:         name of the conf Secret (default "<application>-etc")
  objects:     workloads (see dt.workload); a DaemonSet may carry
               override: {key: <chart>_<daemonset>, shape: root|classic}
  services:    Services (see dt.service), each may carry `manifest`
  secrets:     extra Secrets {name, component, manifest, type, data: {file: text}}
*/}}
{{- define "dt.render" -}}
{{- $root := .root -}}
{{- $spec := .spec -}}
{{- if hasKey $spec "Error" -}}
{{- fail (printf "dev chart %s: its object spec is not valid YAML: %s" $root.Chart.Name $spec.Error) -}}
{{- end -}}
{{- $v := $root.Values -}}
{{- include "dt.validate" $v -}}
{{- $group := $root.Release.Name -}}
{{- if and (kindIs "string" $v.release_group) $v.release_group }}{{ $group = $v.release_group }}{{ end -}}
{{- $ctx := dict "root" $root "app" $spec.application "group" $group -}}
{{- $etc := $spec.etc | default (printf "%s-etc" $spec.application) -}}
{{- $confText := include "dt.confText" $v -}}
{{- $hash := sha256sum $confText -}}
{{- include "dt.secret" (dict "ctx" $ctx "name" $etc "component" "etc" "data" (dict "conf.yaml" $confText)) -}}
{{- range $s := $spec.secrets -}}
{{- if include "dt.enabled" (dict "v" $v "flag" $s.manifest) -}}
{{- include "dt.secret" (dict "ctx" $ctx "name" $s.name "component" $s.component "data" $s.data "type" $s.type) -}}
{{- end -}}
{{- end -}}
{{- range $s := $spec.services -}}
{{- if include "dt.enabled" (dict "v" $v "flag" $s.manifest) -}}
{{- include "dt.service" (dict "ctx" $ctx "v" $v "s" $s) -}}
{{- end -}}
{{- end -}}
{{- range $o := $spec.objects -}}
{{- if include "dt.enabled" (dict "v" $v "flag" $o.manifest) -}}
{{- if and (eq $o.kind "DaemonSet") $o.override -}}
{{- include "dt.daemonsets" (dict "ctx" $ctx "v" $v "o" $o "hash" $hash) -}}
{{- else -}}
{{- include "dt.workload" (dict "ctx" $ctx "v" $v "o" $o "hash" $hash) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
dt.deepMerge: (dict "dst" map "src" map) merges src into dst in place: maps recursively, any
other value replaces (false and 0 included, unlike sprig's mergeOverwrite), null removes.
*/}}
{{- define "dt.deepMerge" -}}
{{- $dst := .dst -}}
{{- range $key, $sv := .src -}}
{{- $dv := index $dst $key -}}
{{- if kindIs "invalid" $sv -}}
{{- $_ := unset $dst $key -}}
{{- else if and (kindIs "map" $sv) (kindIs "map" $dv) -}}
{{- include "dt.deepMerge" (dict "dst" $dv "src" $sv) -}}
{{- else -}}
{{- $_ := set $dst $key (deepCopy $sv) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
dt.daemonsets: a DaemonSet with per-node variants.

shape root (newer helm-toolkit daemonset_overrides_root input):
  overrides.<key>.labels["<label-key>::<label-value>"].values: any values for those nodes.
shape classic (helm-toolkit daemonset_overrides input):
  conf.overrides.<key>.labels: [{label: {key, values: [..]}, conf: {..}}]
  conf.overrides.<key>.hosts:  [{name: <node name>, conf: {..}}]

The default DaemonSet is "<name>-default"; each variant is "<name>-<8 hex of its selector>" with
its own "<variant>-etc" Secret. Every node runs exactly one of them: a variant selects its nodes
(In) and leaves out the nodes of the variants that win over it (NotIn): later label groups win
(map keys in sorted order for root, list order for classic) and hosts win over labels. The
default DaemonSet leaves out every node a variant selects.
*/}}
{{- define "dt.daemonsets" -}}
{{- $ctx := .ctx -}}
{{- $v := .v -}}
{{- $o := .o -}}
{{- $key := $o.override.key -}}
{{- $variants := list -}}
{{- if eq ($o.override.shape | default "root") "root" -}}
{{- $groups := dict -}}
{{- $ov := $v.overrides -}}
{{- if kindIs "map" $ov }}{{ $ov = index $ov $key }}{{ end -}}
{{- if and (kindIs "map" $ov) (kindIs "map" $ov.labels) }}{{ $groups = $ov.labels }}{{ end -}}
{{- $base := omit $v "overrides" -}}
{{- $names := keys $groups | sortAlpha -}}
{{- range $i, $lname := $names -}}
{{- $parts := splitList "::" $lname -}}
{{- if or (ne (len $parts) 2) (not (index $parts 0)) -}}
{{- fail (printf "overrides.%s.labels key %q must look like <label-key>::<label-value>" $key $lname) -}}
{{- end -}}
{{- $exprs := list (dict "key" (index $parts 0) "operator" "In" "values" (list (index $parts 1))) -}}
{{- range $later := slice $names (add1 $i) -}}
{{- $lp := splitList "::" $later -}}
{{- $exprs = append $exprs (dict "key" (first $lp) "operator" "NotIn" "values" (list (last $lp))) -}}
{{- end -}}
{{- $mv := deepCopy $base -}}
{{- $group := index $groups $lname -}}
{{- if and (kindIs "map" $group) (kindIs "map" $group.values) -}}
{{- include "dt.deepMerge" (dict "dst" $mv "src" $group.values) -}}
{{- end -}}
{{- $variants = append $variants (dict "id" $lname "v" $mv "exprs" $exprs "exclude" (dict "key" (index $parts 0) "operator" "NotIn" "values" (list (index $parts 1)))) -}}
{{- end -}}
{{- else -}}
{{- $ov := $v.conf -}}
{{- if kindIs "map" $ov }}{{ $ov = $ov.overrides }}{{ end -}}
{{- if kindIs "map" $ov }}{{ $ov = index $ov $key }}{{ end -}}
{{- $labels := list -}}
{{- $hosts := list -}}
{{- if kindIs "map" $ov -}}
{{- if kindIs "slice" $ov.labels }}{{ $labels = $ov.labels }}{{ end -}}
{{- if kindIs "slice" $ov.hosts }}{{ $hosts = $ov.hosts }}{{ end -}}
{{- end -}}
{{- $hostNames := list -}}
{{- range $h := $hosts }}{{ if and (kindIs "map" $h) $h.name }}{{ $hostNames = append $hostNames (toString $h.name) }}{{ end }}{{ end -}}
{{- $entries := list -}}
{{- range $i, $e := $labels -}}
{{- if not (and (kindIs "map" $e) (kindIs "map" $e.label) $e.label.key (kindIs "slice" $e.label.values)) -}}
{{- fail (printf "conf.overrides.%s.labels[%d] must be {label: {key, values: [..]}, conf: {..}}" $key $i) -}}
{{- end -}}
{{- $sel := dict "key" (toString $e.label.key) "values" $e.label.values -}}
{{- $exprs := list (merge (dict "operator" "In") $sel) -}}
{{- range $later := slice $labels (add1 $i) -}}
{{- $exprs = append $exprs (dict "key" (toString $later.label.key) "operator" "NotIn" "values" $later.label.values) -}}
{{- end -}}
{{- if $hostNames }}{{ $exprs = append $exprs (dict "key" "kubernetes.io/hostname" "operator" "NotIn" "values" $hostNames) }}{{ end -}}
{{- $entries = append $entries (dict "id" (printf "%s::%s" $sel.key (join "," $sel.values)) "conf" $e.conf "exprs" $exprs "exclude" (merge (dict "operator" "NotIn") $sel)) -}}
{{- end -}}
{{- range $h := $hosts -}}
{{- if and (kindIs "map" $h) $h.name -}}
{{- $exprs := list (dict "key" "kubernetes.io/hostname" "operator" "In" "values" (list (toString $h.name))) -}}
{{- $entries = append $entries (dict "id" (printf "host::%s" $h.name) "conf" $h.conf "exprs" $exprs "exclude" dict) -}}
{{- end -}}
{{- end -}}
{{- if $hostNames -}}
{{- $entries = append $entries (dict "id" "" "exprs" list "exclude" (dict "key" "kubernetes.io/hostname" "operator" "NotIn" "values" $hostNames) "skip" true) -}}
{{- end -}}
{{- range $e := $entries -}}
{{- if not $e.skip -}}
{{- $conf := dict -}}
{{- if kindIs "map" $v.conf }}{{ $conf = omit $v.conf "overrides" | deepCopy }}{{ end -}}
{{- if kindIs "map" $e.conf }}{{ include "dt.deepMerge" (dict "dst" $conf "src" $e.conf) }}{{ end -}}
{{- $mv := omit $v "conf" | deepCopy -}}
{{- $_ := set $mv "conf" $conf -}}
{{- $variants = append $variants (dict "id" $e.id "v" $mv "exprs" $e.exprs "exclude" $e.exclude) -}}
{{- else -}}
{{- $variants = append $variants (dict "exclude" $e.exclude "skip" true) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* the variants */ -}}
{{- $excludes := list -}}
{{- range $x := $variants -}}
{{- if $x.exclude }}{{ $excludes = append $excludes $x.exclude }}{{ end -}}
{{- if not $x.skip -}}
{{- $name := printf "%s-%s" $o.name (sha256sum $x.id | trunc 8) -}}
{{- $text := include "dt.confText" $x.v -}}
{{- include "dt.secret" (dict "ctx" $ctx "name" (printf "%s-etc" $name) "component" "etc" "data" (dict "conf.yaml" $text) "annotations" (dict "daemonset_override" $x.id)) -}}
{{- include "dt.workload" (dict "ctx" $ctx "v" $x.v "o" $o "name" $name "hash" (sha256sum $text) "affinity" $x.exprs "annotations" (dict "daemonset_override" $x.id)) -}}
{{- end -}}
{{- end -}}
{{- /* the default DaemonSet, unless overrides.<key>.overrides_default is false */ -}}
{{- $default := true -}}
{{- $ov := $v.overrides -}}
{{- if kindIs "map" $ov }}{{ $ov = index $ov $key }}{{ end -}}
{{- if and (kindIs "map" $ov) (hasKey $ov "overrides_default") (kindIs "bool" $ov.overrides_default) }}{{ $default = $ov.overrides_default }}{{ end -}}
{{- if $default -}}
{{- include "dt.workload" (dict "ctx" $ctx "v" $v "o" $o "name" (printf "%s-default" $o.name) "hash" .hash "affinity" $excludes) -}}
{{- end -}}
{{- end -}}
