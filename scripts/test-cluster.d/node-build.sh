# shellcheck shell=bash
# Sourced by scripts/test-cluster: builds of the real node's programs (cached, keyed by version).
# Uses gobuild, log, die and the cache variables of test-cluster.

CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.4.2}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"
PROVISIONER_LIB_VERSION="${PROVISIONER_LIB_VERSION:-v11.0.1}"
CONTAINERD_BIN="${CACHE_ROOT}/bin/containerd-${CONTAINERD_VERSION}"
NODE_SRC_DIR="${SCRIPT_DIR}/test-cluster.d"
ADDONS_BIN="${CACHE_ROOT}/bin/node-addons-${COREDNS_VERSION}-$(cat "${NODE_SRC_DIR}"/addons/*/*.go | sha256sum | cut -c1-12)"

build_containerd() {
  [[ -f "${CONTAINERD_BIN}/.done" ]] && return 0
  log "building containerd ${CONTAINERD_VERSION} (about 1-2 min)"
  local dir="${BUILD_ROOT}/containerd-${CONTAINERD_VERSION}"
  rm -rf "${dir}" && mkdir -p "${dir}" "${CONTAINERD_BIN}"
  cat >"${dir}/go.mod" <<EOF2
module kmlf.invalid/containerd-build

go 1.25.0

require github.com/containerd/containerd/v2 ${CONTAINERD_VERSION}
EOF2
  printf '// Package build is a throwaway module used only to build containerd.\npackage build\n' >"${dir}/doc.go"
  local pkg=github.com/containerd/containerd/v2
  (cd "${dir}" && gobuild mod download "${pkg}" && \
    gobuild build -mod=mod -tags "no_btrfs no_devmapper no_zfs no_aufs" \
      -ldflags "-s -w -X ${pkg}/version.Version=${CONTAINERD_VERSION}" -o "${CONTAINERD_BIN}/" \
      "${pkg}/cmd/containerd" "${pkg}/cmd/containerd-shim-runc-v2" "${pkg}/cmd/ctr") \
    || die "building containerd ${CONTAINERD_VERSION} failed"
  touch "${CONTAINERD_BIN}/.done"
}

# CoreDNS and the local-path provisioner: one throwaway module, sources in test-cluster.d/addons.
build_node_addons() {
  [[ -f "${ADDONS_BIN}/.done" ]] && return 0
  log "building CoreDNS ${COREDNS_VERSION} and the local-path provisioner"
  local dir="${BUILD_ROOT}/node-addons"
  rm -rf "${dir}" && mkdir -p "${dir}" "${ADDONS_BIN}"
  cp -r "${NODE_SRC_DIR}/addons/." "${dir}/"
  cat >"${dir}/go.mod" <<EOF2
module kmlf.invalid/node-addons

go 1.25.0

require (
	github.com/coredns/coredns ${COREDNS_VERSION}
	sigs.k8s.io/sig-storage-lib-external-provisioner/v11 ${PROVISIONER_LIB_VERSION}
)
EOF2
  (cd "${dir}" && gobuild mod tidy >/dev/null 2>"${dir}/tidy.log") || { cat "${dir}/tidy.log" >&2; die "go mod tidy for the node addons failed"; }
  (cd "${dir}" && gobuild build -ldflags "-s -w" -o "${ADDONS_BIN}/" ./coredns ./local-path) \
    || die "building CoreDNS / local-path failed"
  touch "${ADDONS_BIN}/.done"
}

# kubelet and kube-proxy, from the same module setup (and Go build cache) as the control plane.
build_kube_node() {
  [[ -f "${K8S_BIN}/.node-done" ]] && return 0
  log "building kubelet/kube-proxy ${K8S_VERSION} (cold: a few minutes, shares the control plane's build cache)"
  local dir="${BUILD_ROOT}/kubernetes-node-${K8S_VERSION}"
  k8s_build_module "${dir}"
  mkdir -p "${K8S_BIN}"
  (cd "${dir}" && gobuild build -mod=mod -ldflags "-s -w $(k8s_version_ldflags)" -o "${K8S_BIN}/" \
      k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy) \
    || die "building kubelet/kube-proxy ${K8S_VERSION} failed"
  touch "${K8S_BIN}/.node-done"
}

build_node() {
  build_containerd
  build_node_addons
  build_kube_node
}
