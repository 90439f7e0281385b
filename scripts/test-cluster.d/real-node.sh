# shellcheck shell=bash
# Sourced by scripts/test-cluster: the real node (`up --real`). containerd + Debian's runc run the
# pods, kubelet and kube-proxy come from the control plane's Kubernetes version, CoreDNS and the
# local-path provisioner run as host processes. Pods get addresses on the bridge ${REAL_BRIDGE}
# (host-local IPAM, no masquerading, no default route: nothing leaves this machine).

REAL_NODE_NAME="real-node-0"
REAL_BRIDGE="kmlf0"
REAL_POD_SUBNET="10.244.0.0/24"
REAL_GATEWAY="10.244.0.1"
SERVICE_CIDR="10.96.0.0/16"
REAL_NODE_COMPONENTS=(containerd kubelet kube-proxy coredns local-path)
# containerd's content and image snapshots outlive `down`, so images are imported once
CONTAINERD_ROOT="${CACHE_ROOT}/containerd-root"
NODE_DIR="${RUN_DIR}/node"
CONTAINERD_SOCK="${NODE_DIR}/containerd/containerd.sock"
# set to 1 for pod traffic (Service DNAT between pods on the bridge)
SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables)
# the kubelet sets these to its defaults (protectKernelDefaults: false); `down` restores them
KUBELET_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
PAUSE_IMAGE="$("${SCRIPT_DIR}/node-images" pause-image)"

real_node_packages() {
  local missing=()
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v umoci >/dev/null || missing+=(umoci)
  command -v gcc >/dev/null || missing+=(gcc libc6-dev)
  if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then die "the real node needs: ${missing[*]}"; fi
    log "installing missing packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  [[ $(id -u) -eq 0 ]] || die "the real node runs containers: run as root"
}

ctr_() { "${CONTAINERD_BIN}/ctr" --address "${CONTAINERD_SOCK}" -n k8s.io "$@"; }

write_containerd_config() {
  mkdir -p "${NODE_DIR}/containerd" "${NODE_DIR}/cni/net.d" "${CONTAINERD_ROOT}"
  cat >"${NODE_DIR}/containerd/config.toml" <<EOF2
version = 3
root = '${CONTAINERD_ROOT}'
state = '${NODE_DIR}/containerd/state'
temp = '${NODE_DIR}/containerd/tmp'
disabled_plugins = ['io.containerd.internal.v1.opt', 'io.containerd.nri.v1.nri']

[grpc]
  address = '${CONTAINERD_SOCK}'

[ttrpc]
  address = '${CONTAINERD_SOCK}.ttrpc'

[debug]
  address = ''

[metrics]
  address = ''

[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '${PAUSE_IMAGE}'

[plugins.'io.containerd.cri.v1.runtime']
  # no CAP_SYS_RESOURCE here: without this every pod fails writing /proc/self/oom_score_adj
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  cdi_spec_dirs = []
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'runc'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = '$(command -v runc)'
        SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['/usr/lib/cni']
    conf_dir = '${NODE_DIR}/cni/net.d'

[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = '127.0.0.1'
  stream_server_port = '0'
EOF2
  cat >"${NODE_DIR}/cni/net.d/10-kmlf.conflist" <<EOF2
{
  "cniVersion": "1.0.0",
  "name": "kmlf",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "${REAL_BRIDGE}",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "${NODE_DIR}/cni/ipam",
        "ranges": [[{"subnet": "${REAL_POD_SUBNET}", "gateway": "${REAL_GATEWAY}"}]],
        "routes": [{"dst": "${SERVICE_CIDR}"}]
      }
    }
  ]
}
EOF2
}

write_kubelet_config() {
  mkdir -p "${NODE_DIR}/kubelet" "${NODE_DIR}/pod-logs"
  cat >"${NODE_DIR}/kubelet.yaml" <<EOF2
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# a node IP cannot be loopback: the kubelet serves on the bridge's gateway, which only this
# machine and its pods reach
address: ${REAL_GATEWAY}
port: ${KWOK_PORT}
readOnlyPort: 0
healthzPort: 0
tlsCertFile: ${PKI}/kubelet.crt
tlsPrivateKeyFile: ${PKI}/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: ${PKI}/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://${CONTAINERD_SOCK}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
clusterDNS: [${REAL_GATEWAY}]
clusterDomain: cluster.local
resolvConf: ""
podLogsDir: ${NODE_DIR}/pod-logs
volumePluginDir: ${NODE_DIR}/kubelet/volume-plugins
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
serializeImagePulls: false
maxPods: 30
syncFrequency: 10s
nodeStatusUpdateFrequency: 5s
shutdownGracePeriod: 0s
EOF2
  cat >"${NODE_DIR}/kube-proxy.yaml" <<EOF2
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${KUBECONFIG_PATH}
hostnameOverride: ${REAL_NODE_NAME}
mode: iptables
clusterCIDR: ${REAL_POD_SUBNET}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$((KWOK_PORT + 1))
metricsBindAddress: 127.0.0.1:$((KWOK_PORT + 2))
# leave the host's sysctls alone: no conntrack tuning, no route_localnet
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
EOF2
  cat >"${NODE_DIR}/Corefile" <<EOF2
cluster.local:53 {
  bind ${REAL_GATEWAY}
  errors
  cache 5
  kubernetes cluster.local {
    kubeconfig ${KUBECONFIG_PATH} kubectl-mlflow-test
  }
}
.:53 {
  bind ${REAL_GATEWAY}
  errors
}
EOF2
}

# The node's client certificate (the Node authorizer knows it by its name and group).
real_node_certs() {
  (cd "${PKI}" && issue kubelet-client "/O=system:nodes/CN=system:node:${REAL_NODE_NAME}" clientAuth)
  kubeconfig_for "${NODE_DIR}/kubelet.kubeconfig" "${PKI}/kubelet-client.crt" "${PKI}/kubelet-client.key"
}

# What the real node's cluster has beside the node: the default StorageClass of the provisioner,
# the kube-dns Service (CoreDNS runs on the host, at the bridge's gateway) and the ServiceMonitor CRD.
real_cluster_objects() {
  cat <<EOF2
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubectl-mlflow.test/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
---
EOF2
  servicemonitor_crd
}

# Bridge (with the gateway address CoreDNS binds to) and the sysctls pod traffic needs; the
# previous sysctl values are kept, for `down` to restore.
real_network_up() {
  local s
  for s in "${SYSCTLS[@]}" "${KUBELET_SYSCTLS[@]}"; do
    echo "${s}=$(sysctl -n "${s}")" >>"${NODE_DIR}/sysctl.saved"
  done
  for s in "${SYSCTLS[@]}"; do sysctl -qw "${s}=1"; done
  ip link show "${REAL_BRIDGE}" >/dev/null 2>&1 || ip link add "${REAL_BRIDGE}" type bridge
  ip addr replace "${REAL_GATEWAY}/24" dev "${REAL_BRIDGE}"
  ip link set "${REAL_BRIDGE}" up
}

import_images() {
  local name layout want stamp_dir="${CONTAINERD_ROOT}/kmlf-imported" stamp images
  mkdir -p "${stamp_dir}"
  images="$(ctr_ images ls -q 2>/dev/null)"
  while read -r name layout; do
    want="$(sha256sum <"${layout}/index.json" | cut -c1-64)"
    stamp="${stamp_dir}/$(echo "${name}" | tr '/:' '__')"
    if [[ "$(cat "${stamp}" 2>/dev/null)" == "${want}" ]] && grep -qxF "${name}" <<<"${images}"; then
      continue
    fi
    log "importing ${name} into containerd"
    # the layout's tag is "image"; the archive says the real tag, --base-name the repository
    mkdir -p "${NODE_DIR}/import"
    sed "s|\"org.opencontainers.image.ref.name\":\"image\"|\"org.opencontainers.image.ref.name\":\"${name##*:}\"|" \
      "${layout}/index.json" >"${NODE_DIR}/import/index.json"
    tar -cf - -C "${layout}" oci-layout blobs -C "${NODE_DIR}/import" index.json \
      | ctr_ images import --base-name "${name%:*}" - >"${LOGS}/import.log" 2>&1 \
      || { cat "${LOGS}/import.log" >&2; die "importing ${name} from ${layout} failed"; }
    echo "${want}" >"${stamp}"
  done < <("${SCRIPT_DIR}/node-images" list)
  images="$(ctr_ images ls -q 2>/dev/null)"
  grep -qxF "${PAUSE_IMAGE}" <<<"${images}" || die "image ${PAUSE_IMAGE} is not built (run: scripts/node-images build)"
}

real_node_ready() {
  [[ "$(kc get node "${REAL_NODE_NAME}" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == "True" ]]
}

start_real_node() {
  mkdir -p "${NODE_DIR}"
  real_node_certs
  write_containerd_config
  write_kubelet_config
  real_network_up
  # the shim is found on containerd's PATH
  start_component containerd env "PATH=${CONTAINERD_BIN}:${PATH}" "${CONTAINERD_BIN}/containerd" \
    --config "${NODE_DIR}/containerd/config.toml" --log-level warn
  wait_for "containerd" 30 ctr_ version || { check_component_alive containerd; die "containerd did not start"; }
  import_images
  start_component coredns "${ADDONS_BIN}/coredns" -conf "${NODE_DIR}/Corefile"
  start_component local-path "${ADDONS_BIN}/local-path" -kubeconfig "${KUBECONFIG_PATH}" \
    -root "${NODE_DIR}/volumes" -node "${REAL_NODE_NAME}"
  start_component kube-proxy "${K8S_BIN}/kube-proxy" --config "${NODE_DIR}/kube-proxy.yaml" --v=1
  start_component kubelet "${K8S_BIN}/kubelet" --config "${NODE_DIR}/kubelet.yaml" \
    --kubeconfig "${NODE_DIR}/kubelet.kubeconfig" --root-dir "${NODE_DIR}/kubelet" \
    --hostname-override "${REAL_NODE_NAME}" --node-ip "${REAL_GATEWAY}" --v=1
  wait_for "node ${REAL_NODE_NAME} Ready" 120 real_node_ready \
    || { check_component_alive "${REAL_NODE_COMPONENTS[@]}"; tail -n 30 "${LOGS}/kubelet.log" >&2; die "the real node did not become Ready"; }
}

# --------------------------------------------------------------------------------------------
# teardown: every pod, then the daemons, then what they left in the kernel

real_node_teardown() {
  local pid
  if pid="$(alive_pid kubelet)"; then kill -TERM "${pid}"; wait_pids 15 "${pid}"; fi
  if alive_pid containerd >/dev/null; then
    local ids
    ids="$(ctr_ tasks ls -q 2>/dev/null || true)"
    for id in ${ids}; do ctr_ tasks kill -s KILL "${id}" >/dev/null 2>&1 || true; done
    for id in ${ids}; do ctr_ tasks delete -f "${id}" >/dev/null 2>&1 || true; done
    ids="$(ctr_ containers ls -q 2>/dev/null || true)"
    # shellcheck disable=SC2086 # one argument per container id
    [[ -z "${ids}" ]] || ctr_ containers delete ${ids} >/dev/null 2>&1 || true
  fi
  for c in local-path coredns kube-proxy containerd; do
    if pid="$(alive_pid "${c}")"; then kill -TERM "${pid}"; wait_pids 15 "${pid}"; fi
  done
  kill_shims
  real_node_cleanup_kernel
}

# Shims outlive containerd by design; ours are known by their executable.
kill_shims() {
  local p exe
  for p in /proc/[0-9]*; do
    exe="$(readlink "${p}/exe" 2>/dev/null || true)"
    if [[ "${exe% (deleted)}" == "${CONTAINERD_BIN}/containerd-shim-runc-v2" ]]; then kill -KILL "${p#/proc/}" 2>/dev/null || true; fi
  done
}

real_node_cleanup_kernel() {
  local m
  # mounts below the node's dirs (pod volumes, rootfs, netns), deepest first
  while read -r m; do umount -l "${m}" 2>/dev/null || true; done < <(
    awk -v a="${NODE_DIR}/" -v b="${CONTAINERD_ROOT}/" '
      function unesc(s) { gsub(/\\040/, " ", s); return s }
      { t = unesc($5); if (index(t, a) == 1 || index(t, b) == 1) print t }' /proc/self/mountinfo | sort -r)
  # cgroups the kubelet made (cgroupfs driver: /kubepods in every hierarchy), leaves first
  local d
  for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    if [[ -d "${d}" ]]; then find "${d}" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
  done
  if ip link show "${REAL_BRIDGE}" >/dev/null 2>&1; then ip link delete "${REAL_BRIDGE}" 2>/dev/null || true; fi
  "${K8S_BIN}/kube-proxy" --cleanup >/dev/null 2>&1 || true
  # kubelet's and kube-proxy's own chains (KUBE-*), and any CNI-* chain, in both families
  local save restore
  for save in iptables-save ip6tables-save; do
    restore="${save/-save/-restore}"
    if "${save}" 2>/dev/null | grep -qE 'KUBE-|CNI-'; then
      "${save}" | grep -vE 'KUBE-|CNI-' | "${restore}" || log "warning: ${restore} failed"
    fi
  done
  if [[ -f "${NODE_DIR}/sysctl.saved" ]]; then
    local line
    while read -r line; do sysctl -qw "${line}" || true; done < <(tac "${NODE_DIR}/sysctl.saved")
  fi
}

# What `down` checks it left nothing of: prints each leftover, one a line.
real_node_leftovers() {
  local p exe
  for p in /proc/[0-9]*; do
    exe="$(readlink "${p}/exe" 2>/dev/null || true)"
    case "${exe% (deleted)}" in
      "${CONTAINERD_BIN}"/*|"${ADDONS_BIN}"/*|"${K8S_BIN}/kubelet"|"${K8S_BIN}/kube-proxy") echo "process ${p#/proc/} ${exe}" ;;
    esac
  done
  awk -v a="${NODE_DIR}/" -v b="${CONTAINERD_ROOT}/" 'index($5, a) == 1 || index($5, b) == 1 { print "mount " $5 }' /proc/self/mountinfo
  local d
  for d in /sys/fs/cgroup/*/kubepods; do
    if [[ -d "${d}" ]]; then echo "cgroup ${d}"; fi
  done
  ip link show "${REAL_BRIDGE}" >/dev/null 2>&1 && echo "bridge ${REAL_BRIDGE}"
  { iptables-save 2>/dev/null; ip6tables-save 2>/dev/null; } | grep -E 'KUBE-|CNI-' | sed 's/^/iptables /'
  return 0
}
