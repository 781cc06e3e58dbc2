#!/usr/bin/env bash
# Generates one run's PKI into DIR/pki: a CA, serving certificates for etcd and the API server
# (127.0.0.1 and localhost), client certificates for the API server (to etcd), the controller manager
# and the admin (system:masters), and the service-account signing key. Keys never leave DIR (0700).
# Usage: scripts/cluster/certs.sh DIR
set -euo pipefail
pki="$1/pki"
mkdir -p "$pki"
chmod 700 "$1" "$pki"
cd "$pki"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

# cert NAME SUBJECT EXTENSIONS: a certificate for NAME.key signed by the run's CA, valid for two days.
cert() {
  key "$1"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  printf '%b\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

key ca
openssl req -x509 -new -key ca.key -subj "/CN=imagegate-test-cluster-ca" -days 2 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.crt 2>/dev/null

serving='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost'
apiserver_sans='IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1'
client='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'

cert etcd "/CN=etcd" "$serving"
cert apiserver "/CN=kube-apiserver" "${serving%subjectAltName=*}subjectAltName=$apiserver_sans"
cert apiserver-etcd-client "/CN=kube-apiserver-etcd-client" "$client"
cert controller-manager "/CN=system:kube-controller-manager" "$client"
cert admin "/O=system:masters/CN=imagegate-test-admin" "$client"

# The service-account token signing key (TokenRequest, the token controller).
key sa
openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
chmod 600 ./*.key
