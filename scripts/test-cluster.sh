#!/usr/bin/env bash
# A local Kubernetes control plane for the test suite and for trying imagegate by hand: etcd,
# kube-apiserver and kube-controller-manager built from their published Go modules
# (scripts/cluster/build.sh), on loopback, on free ports. No kubelet and no scheduler: pods stay
# Pending, which is all admission needs.
#
#   scripts/test-cluster.sh up DIR     build (first time), start, write DIR/kubeconfig (cluster-admin)
#                                      and print only that path on stdout
#   scripts/test-cluster.sh down DIR   stop what `up DIR` started and remove DIR
#   scripts/test-cluster.sh build      only build (or find) the binaries; prints their directory
#   scripts/test-cluster.sh apiserver DIR NAME [FLAG...]
#                                      one more kube-apiserver on DIR's etcd with extra flags (e.g.
#                                      --watch-cache=false); writes DIR/NAME.kubeconfig, prints its path
#
# DIR also holds the logs (etcd.log, apiserver.log, controller-manager.log), the API server's audit log
# (audit.log, JSON lines) and the run's PKI (pki/: ca.crt, the service-account key...).
# With TEST_CLUSTER_OWNER_PID set, the cluster stops itself when that process dies.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

log() { echo "test-cluster: $*" >&2; }

# free_ports N: N distinct loopback ports the kernel just handed out (then released).
free_ports() {
  node -e '
    const net = require("node:net");
    const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)))))
      .then((ports) => { console.log(ports.join(" ")); servers.forEach((s) => s.close()); });
  ' "$1"
}

# start NAME BIN ARGS...: runs BIN in the background with all its output in DIR/NAME.log.
start() {
  local name=$1
  shift
  "$@" </dev/null >"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
}

# wait_for NAME SECONDS CMD...: polls CMD until it succeeds; fails if NAME's process exits first.
wait_for() {
  local name=$1 deadline=$(($(date +%s) + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then
      log "$name exited; the end of $dir/$name.log:"
      tail -n 20 "$dir/$name.log" >&2
      return 1
    fi
    if (($(date +%s) > deadline)); then
      log "$name not ready after $2 s; the end of $dir/$name.log:"
      tail -n 20 "$dir/$name.log" >&2
      return 1
    fi
    sleep 0.3
  done
}

# kubeconfig FILE SERVER CERT-NAME USER: a kubeconfig with the CA and client credentials inlined.
kubeconfig() {
  local b64='base64 -w0'
  cat >"$1" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: imagegate-test
    cluster:
      server: $2
      certificate-authority-data: $($b64 <"$dir/pki/ca.crt")
users:
  - name: $4
    user:
      client-certificate-data: $($b64 <"$dir/pki/$3.crt")
      client-key-data: $($b64 <"$dir/pki/$3.key")
contexts:
  - name: imagegate-test
    context: { cluster: imagegate-test, user: $4 }
current-context: imagegate-test
YAML
  chmod 600 "$1"
}

stop_all() {
  local name pid extra
  extra=$(cd "$dir" && ls extra-*.pid 2>/dev/null | sed 's/\.pid$//' || true)
  for name in watchdog controller-manager $extra apiserver etcd; do
    [[ -f "$dir/$name.pid" ]] || continue
    pid=$(cat "$dir/$name.pid")
    # The watchdog runs `down` itself: it is this process (bash execs a -c string's last command) or
    # its parent, and ends when this does.
    if [[ $pid == "$$" || $pid == "$PPID" ]]; then
      rm -f "$dir/$name.pid"
      continue
    fi
    # Only a process this DIR started: its command line names DIR (pids are reused).
    if grep -qaF -- "$dir" "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/$name.pid"
  done
}

# start_apiserver NAME BIN PORT [FLAG...]: a kube-apiserver on DIR's etcd (DIR/etcd-url) at PORT, its
# audit log in DIR/audit.log (NAME apiserver) or DIR/NAME-audit.log; waits until /readyz answers.
start_apiserver() {
  local name=$1 bin=$2 port=$3 pki="$dir/pki" etcd_url audit="$dir/audit.log"
  shift 3
  etcd_url=$(cat "$dir/etcd-url")
  [[ $name == apiserver ]] || audit="$dir/$name-audit.log"
  start "$name" "$bin/kube-apiserver" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$port" --cert-dir="$dir/$name-certs" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --etcd-servers="$etcd_url" --etcd-cafile="$pki/ca.crt" \
    --etcd-certfile="$pki/apiserver-etcd-client.crt" --etcd-keyfile="$pki/apiserver-etcd-client.key" \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NamespaceLifecycle,ServiceAccount,ValidatingAdmissionWebhook,MutatingAdmissionWebhook \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 --endpoint-reconciler-type=none \
    --audit-policy-file="$here/cluster/audit-policy.yaml" --audit-log-path="$audit" \
    --audit-log-format=json --audit-log-mode=blocking --audit-log-maxsize=0 \
    --profiling=false --v=1 "$@"
  wait_for "$name" 90 curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$port/readyz"
}

# One attempt to start the three processes on fresh ports (a port can be taken between choosing
# and binding it: the caller retries).
start_all() {
  local bin=$1 pki="$dir/pki" etcd_client etcd_peer apiserver
  read -r etcd_client etcd_peer apiserver <<<"$(free_ports 3)"
  local etcd_url="https://127.0.0.1:$etcd_client"
  start etcd "$bin/etcd" --name=imagegate-test --data-dir="$dir/etcd-data" \
    --listen-client-urls="$etcd_url" --advertise-client-urls="$etcd_url" \
    --listen-peer-urls="https://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls="https://127.0.0.1:$etcd_peer" \
    --initial-cluster="imagegate-test=https://127.0.0.1:$etcd_peer" \
    --cert-file="$pki/etcd.crt" --key-file="$pki/etcd.key" --trusted-ca-file="$pki/ca.crt" --client-cert-auth \
    --peer-cert-file="$pki/etcd.crt" --peer-key-file="$pki/etcd.key" --peer-trusted-ca-file="$pki/ca.crt" \
    --peer-client-cert-auth --log-level=warn
  wait_for etcd 30 curl -sf --cacert "$pki/ca.crt" --cert "$pki/apiserver-etcd-client.crt" \
    --key "$pki/apiserver-etcd-client.key" "$etcd_url/health" || return 1
  echo "$etcd_url" >"$dir/etcd-url"

  start_apiserver apiserver "$bin" "$apiserver" || return 1
  local server="https://127.0.0.1:$apiserver"

  kubeconfig "$dir/kubeconfig" "$server" admin imagegate-test-admin
  kubeconfig "$dir/controller-manager.kubeconfig" "$server" controller-manager system:kube-controller-manager
  # The controllers a workload needs to become pods (Deployment → ReplicaSet → Pod, CronJob → Job →
  # Pod, StatefulSet), the service accounts and their tokens, namespaces' lifecycle and garbage
  # collection; each with its own service account, as in a real cluster.
  start controller-manager "$bin/kube-controller-manager" --kubeconfig="$dir/controller-manager.kubeconfig" \
    --secure-port=0 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --controllers=deployment-controller,replicaset-controller,statefulset-controller,daemonset-controller,job-controller,cronjob-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,namespace-controller,garbage-collector-controller,ttl-after-finished-controller,disruption-controller \
    --v=1
  # Ready when the service-account controller made the default namespace's account (pods need it).
  wait_for controller-manager 60 kubectl_ get serviceaccount default --namespace default
}

kubectl_() {
  local kubectl="$here/../.tools/bin/kubectl"
  [[ -x "$kubectl" ]] || kubectl=kubectl
  "$kubectl" --kubeconfig="$dir/kubeconfig" --request-timeout=5s "$@"
}

up() {
  if [[ -e "$dir/kubeconfig" || -e "$dir/apiserver.pid" ]]; then
    log "$dir already holds a cluster: run '$0 down $dir' first"
    exit 2
  fi
  local bin
  bin=$("$here/cluster/build.sh")
  mkdir -p "$dir"
  bash "$here/cluster/certs.sh" "$dir"
  for attempt in 1 2 3; do
    if start_all "$bin"; then
      if [[ -n "${TEST_CLUSTER_OWNER_PID:-}" ]]; then
        # Its command line names DIR, so `down` recognises it.
        bash -c 'while kill -0 "$0" 2>/dev/null; do sleep 2; done; "$1" down "$2"' \
          "$TEST_CLUSTER_OWNER_PID" "$here/test-cluster.sh" "$dir" </dev/null >>"$dir/watchdog.log" 2>&1 &
        echo $! >"$dir/watchdog.pid"
      fi
      echo "$dir/kubeconfig"
      return 0
    fi
    log "start attempt $attempt failed; retrying on other ports"
    stop_all
    rm -rf "$dir/etcd-data" "$dir/kubeconfig"
  done
  log "could not start the control plane (logs in $dir)"
  exit 1
}

case "${1:-}" in
  up | down)
    [[ $# == 2 ]] || { log "usage: $0 up|down DIR"; exit 2; }
    mkdir -p "$2"
    dir=$(cd "$2" && pwd)
    if [[ $1 == up ]]; then up; else stop_all; rm -rf "$dir"; fi
    ;;
  build) "$here/cluster/build.sh" ;;
  apiserver)
    [[ $# -ge 3 && -e "$2/etcd-url" ]] || { log "usage: $0 apiserver DIR NAME [FLAG...] (DIR from 'up')"; exit 2; }
    dir=$(cd "$2" && pwd)
    name="extra-$3"
    shift 3
    bin=$("$here/cluster/build.sh")
    read -r port <<<"$(free_ports 1)"
    start_apiserver "$name" "$bin" "$port" "$@" || exit 1
    kubeconfig "$dir/$name.kubeconfig" "https://127.0.0.1:$port" admin imagegate-test-admin
    echo "$dir/$name.kubeconfig"
    ;;
  *)
    log "usage: $0 up DIR | down DIR | build | apiserver DIR NAME [FLAG...]"
    exit 2
    ;;
esac
