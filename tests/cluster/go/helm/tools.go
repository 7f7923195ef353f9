//go:build tools

// Package tools pins the command built for the dev cluster.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
