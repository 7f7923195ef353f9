//go:build tools

// Package tools pins the command built for the dev cluster.
package tools

import _ "github.com/prometheus/prometheus/cmd/prometheus"
