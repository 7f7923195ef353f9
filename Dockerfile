# syntax=docker/dockerfile:1
#
# Image of the Rockoon-in-Rust controllers: the five `rockoon-*` binaries and the pinned helm
# that `rockoon-osdpl` runs. One image for every container of deploy/chart/rockoon.
#
#   docker build -t rockoon:0.1.0 .

# ---- Stage 1: the five controller binaries -------------------------------------------------
FROM rust:1.95-bookworm AS rust
WORKDIR /src
# The whole workspace (filtered by .dockerignore): Cargo needs every member to resolve it.
COPY . .
# Cache mounts keep the registry and target dir between builds; the binaries are copied out
# of the cached target dir in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
        -p rockoon-osdpl -p rockoon-secrets -p rockoon-health -p rockoon-node \
        -p rockoon-ceph-exchange \
 && mkdir -p /out \
 && for bin in rockoon-osdpl rockoon-secrets rockoon-health rockoon-node rockoon-ceph-exchange; do \
        cp "target/release/$bin" /out/; \
    done

# ---- Stage 2: helm, at the version pinned in tests/cluster/go/helm/go.mod ------------------
FROM golang:1.26-bookworm AS helm
WORKDIR /src
ENV GOTOOLCHAIN=local CGO_ENABLED=0
# go.mod/go.sum first, so the module download is cached until the pin changes.
COPY tests/cluster/go/helm/go.mod tests/cluster/go/helm/go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY tests/cluster/go/helm/ ./
# The version stamped into `helm version` is read from go.mod, so it cannot drift from the pin
# (v3.19.5 today). -mod=readonly (the default) fails if go.mod/go.sum are not complete.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    set -eu; \
    version="$(sed -n 's|^require helm.sh/helm/v3 \(v[^ ]*\)$|\1|p' go.mod)"; \
    test -n "$version" || { echo "no helm.sh/helm/v3 pin in go.mod" >&2; exit 1; }; \
    go build -trimpath \
        -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" \
        -o /helm helm.sh/helm/v3/cmd/helm; \
    test "$(/helm version --template '{{.Version}}')" = "$version"

# ---- Final stage ---------------------------------------------------------------------------
# distroless/cc: glibc and libgcc for the Rust binaries (rustls: no OpenSSL), CA certificates,
# no shell or package manager. helm is static (CGO_ENABLED=0) and needs no shell either.
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="rockoon" \
      org.opencontainers.image.description="Rockoon in Rust: OpenStack lifecycle controllers" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=rust /out/ /usr/local/bin/
COPY --from=helm /helm /usr/local/bin/helm
# Same UID/GID as the chart's securityContext. The root filesystem is read-only in the chart:
# HOME (and so helm's cache/config/data) points at the /tmp emptyDir.
USER 42424:42424
ENV HOME=/tmp
WORKDIR /tmp
# No ENTRYPOINT: each container of the chart names its own binary.
CMD ["/usr/local/bin/rockoon-osdpl", "--help"]
