//go:build tools

// Package tools keeps the pinned Gateway API module required (go mod tidy would drop it
// otherwise); nothing is built from it, build.sh only reads its CRD files.
package tools

import _ "sigs.k8s.io/gateway-api/apis/v1"
