//go:build tools

// Package tools pins the command built for the dev cluster.
package tools

import _ "go.etcd.io/etcd/server/v3"
