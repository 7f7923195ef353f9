//go:build tools

// Package tools pins the command built for the dev cluster.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
