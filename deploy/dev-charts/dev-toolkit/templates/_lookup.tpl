{{/*
Tolerant look-ups of the upstream OpenStack-Helm value keys. None of these fails: a missing or
oddly typed key gives the default.
*/}}

{{/* dt.str: (dict "v" map "path" "a.b.c" "default" x) -> the scalar at the dotted path as a string, or the default. */}}
{{- define "dt.str" -}}
{{- $cur := .v -}}
{{- $found := true -}}
{{- range $step := splitList "." .path -}}
{{- if and $found (kindIs "map" $cur) (hasKey $cur $step) -}}
{{- $cur = index $cur $step -}}
{{- else -}}
{{- $found = false -}}
{{- end -}}
{{- end -}}
{{- if or (not $found) (kindIs "invalid" $cur) (kindIs "map" $cur) (kindIs "slice" $cur) (eq (toString $cur) "") -}}
{{- .default -}}
{{- else -}}
{{- toString $cur -}}
{{- end -}}
{{- end -}}

{{/* dt.enabled: (dict "v" values "flag" name) -> "true" unless manifests.<flag> is false/empty. */}}
{{- define "dt.enabled" -}}
{{- $m := .v.manifests -}}
{{- if not .flag -}}true
{{- else if not (kindIs "map" $m) -}}true
{{- else if not (hasKey $m .flag) -}}true
{{- else if kindIs "invalid" (index $m .flag) -}}true
{{- else if index $m .flag -}}true
{{- end -}}
{{- end -}}

{{/* dt.replicas: (dict "v" values "key" component "default" n) -> the replica count. */}}
{{- define "dt.replicas" -}}
{{- $n := 1 -}}
{{- if hasKey . "default" }}{{ $n = .default }}{{ end -}}
{{- $pod := .v.pod -}}
{{- if and .key (kindIs "map" $pod) -}}
{{- if kindIs "map" $pod.replicas -}}
{{- $x := index $pod.replicas .key -}}
{{- if not (kindIs "invalid" $x) }}{{ $n = $x }}{{ end -}}
{{- end -}}
{{- end -}}
{{- int64 $n -}}
{{- end -}}

{{/*
dt.nodeSelector: (dict "v" values "path" "agent.compute") -> "key: value" from
labels.<path>.node_selector_key / node_selector_value (the chart's values.yaml holds the defaults).
*/}}
{{- define "dt.nodeSelector" -}}
{{- $cur := .v.labels -}}
{{- range $step := splitList "." (.path | default "") -}}
{{- if and (kindIs "map" $cur) (hasKey $cur $step) }}{{ $cur = index $cur $step }}{{ else }}{{ $cur = dict }}{{ end -}}
{{- end -}}
{{- $key := "openstack-control-plane" -}}
{{- $value := "enabled" -}}
{{- if kindIs "map" $cur -}}
{{- with $cur.node_selector_key }}{{ $key = toString . }}{{ end -}}
{{- with $cur.node_selector_value }}{{ $value = toString . }}{{ end -}}
{{- end -}}
{{ $key | toJson }}: {{ $value | toJson }}
{{- end -}}

{{/*
dt.port: (dict "v" values "endpoint" type "port" name "default" n) -> the port number from
endpoints.<type>.port.<name>.internal, else .default, else the given default.
*/}}
{{- define "dt.port" -}}
{{- $n := .default -}}
{{- $e := .v.endpoints -}}
{{- if kindIs "map" $e }}{{ $e = index $e .endpoint }}{{ end -}}
{{- if kindIs "map" $e }}{{ $e = $e.port }}{{ end -}}
{{- if kindIs "map" $e }}{{ $e = index $e .port }}{{ end -}}
{{- if kindIs "map" $e -}}
{{- $found := false -}}
{{- range $type := list "internal" "default" -}}
{{- $p := index $e $type -}}
{{- if and (not $found) (has (kindOf $p) (list "float64" "int" "int64")) }}{{ $n = $p }}{{ $found = true }}{{ end -}}
{{- end -}}
{{- else if has (kindOf $e) (list "float64" "int" "int64") -}}
{{- $n = $e -}}
{{- end -}}
{{- int64 $n -}}
{{- end -}}

{{/*
dt.host: (dict "v" values "endpoint" type "type" endpoint-type "default" name) -> the short
host name from endpoints.<type>.hosts.<endpoint-type>, else hosts.default, else the default.
A hosts entry may be a string or a map with `host`.
*/}}
{{- define "dt.host" -}}
{{- $name := .default -}}
{{- $h := .v.endpoints -}}
{{- if kindIs "map" $h }}{{ $h = index $h .endpoint }}{{ end -}}
{{- if kindIs "map" $h }}{{ $h = $h.hosts }}{{ end -}}
{{- if kindIs "map" $h -}}
{{- $found := false -}}
{{- range $type := list (.type | default "default") "default" -}}
{{- $x := index $h $type -}}
{{- if kindIs "map" $x }}{{ $x = $x.host }}{{ end -}}
{{- if and (not $found) (kindIs "string" $x) $x }}{{ $name = $x }}{{ $found = true }}{{ end -}}
{{- end -}}
{{- end -}}
{{- $name -}}
{{- end -}}
