{{/*
Validation. Only two things stop a render, each with a message that names the key:
  - a pod.replicas.<component> that is not a whole number >= 0;
  - an images.tags.<key> that an enabled object uses and that is missing, empty or not a string.
Everything else is tolerated (unknown keys ignored, missing optional keys defaulted).
*/}}

{{/* A friendly name for the type of a value, used in messages. */}}
{{- define "dt.kindName" -}}
{{- $k := kindOf . -}}
{{- if eq $k "slice" }}list
{{- else if eq $k "invalid" }}null
{{- else if has $k (list "float64" "float32" "int" "int64" "int32") }}number
{{- else }}{{ $k }}
{{- end -}}
{{- end -}}

{{/* dt.validate: takes .Values; fails on a non-integer pod.replicas.<x>. */}}
{{- define "dt.validate" -}}
{{- $pod := .pod -}}
{{- if and $pod (kindIs "map" $pod) -}}
{{- $replicas := $pod.replicas -}}
{{- if not (kindIs "invalid" $replicas) -}}
{{- if not (kindIs "map" $replicas) -}}
{{- fail (printf "pod.replicas must be a map of component: integer, got %s" (include "dt.kindName" $replicas)) -}}
{{- end -}}
{{- range $component, $n := $replicas -}}
{{- include "dt.checkInt" (dict "path" (printf "pod.replicas.%s" $component) "value" $n) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* dt.checkInt: (dict "path" "value"); null is allowed (means the default). */}}
{{- define "dt.checkInt" -}}
{{- $x := .value -}}
{{- if kindIs "invalid" $x -}}
{{- else if has (kindOf $x) (list "int" "int64" "int32") -}}
{{- if lt (int64 $x) 0 -}}
{{- fail (printf "%s must be an integer >= 0, got %d" .path (int64 $x)) -}}
{{- end -}}
{{- else if kindIs "float64" $x -}}
{{- if ne $x (floor $x) -}}
{{- fail (printf "%s must be an integer, got %v" .path $x) -}}
{{- end -}}
{{- if lt $x 0.0 -}}
{{- fail (printf "%s must be an integer >= 0, got %v" .path $x) -}}
{{- end -}}
{{- else -}}
{{- fail (printf "%s must be an integer, got %s" .path (include "dt.kindName" $x)) -}}
{{- end -}}
{{- end -}}

{{/* dt.image: (dict "v" values "key" tag-key "for" object-name) -> the image reference. */}}
{{- define "dt.image" -}}
{{- $images := .v.images -}}
{{- if not (kindIs "map" $images) -}}
{{- fail (printf "images must be a map holding images.tags, got %s (needed for images.tags.%s of %s)" (include "dt.kindName" $images) .key .for) -}}
{{- end -}}
{{- $tags := $images.tags -}}
{{- if not (kindIs "map" $tags) -}}
{{- fail (printf "images.tags must be a map, got %s (needed for images.tags.%s of %s)" (include "dt.kindName" $tags) .key .for) -}}
{{- end -}}
{{- $tag := index $tags .key -}}
{{- if kindIs "invalid" $tag -}}
{{- fail (printf "images.tags.%s is missing (the image of %s)" .key .for) -}}
{{- end -}}
{{- if not (kindIs "string" $tag) -}}
{{- fail (printf "images.tags.%s must be a string, got %s" .key (include "dt.kindName" $tag)) -}}
{{- end -}}
{{- if not $tag -}}
{{- fail (printf "images.tags.%s must not be empty (the image of %s)" .key .for) -}}
{{- end -}}
{{- $tag -}}
{{- end -}}
