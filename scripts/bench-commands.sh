#!/usr/bin/env bash
# Times whole commands that make a kubeadm-layout PKI: `kpki init` against the openssl route
# (what hand-built clusters type today: genrsa + req + x509 per certificate). Prints the mean
# wall time of N runs of each. Usage: scripts/bench-commands.sh [N] [ALGORITHM]
set -euo pipefail
N=${1:-5}
ALG=${2:-RSA-2048}
cd "$(dirname "$0")/.."
cargo build --release -q -p pki-cli
KPKI=$PWD/target/release/kpki
CFG=$PWD/fixtures/configs/cluster-v1beta4.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl_tree() { # the same 16 keys and 15 certificates, the openssl way
  local d=$1 bits=${ALG#RSA-}
  mkdir -p "$d/etcd"
  key() { if [[ $ALG == RSA-* ]]; then openssl genrsa -out "$1" "$bits" 2>/dev/null; else openssl ecparam -name prime256v1 -genkey -noout -out "$1"; fi; }
  ca() { key "$d/$1.key"; openssl req -x509 -new -key "$d/$1.key" -subj "/CN=$2" -days 3650 -out "$d/$1.crt" \
      -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" 2>/dev/null; }
  leaf() { # name ca subj eku [san]
    key "$d/$1.key"
    openssl req -new -key "$d/$1.key" -subj "$3" -out "$d/$1.csr" 2>/dev/null
    printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' "$4" "${5:+subjectAltName=$5}" > "$d/$1.ext"
    openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.crt" -CAkey "$d/$2.key" -CAcreateserial -days 365 \
      -extfile "$d/$1.ext" -out "$d/$1.crt" 2>/dev/null
  }
  ca ca kubernetes; ca front-proxy-ca front-proxy-ca; ca etcd/ca etcd-ca
  leaf apiserver ca /CN=kube-apiserver serverAuth "DNS:cp-node-1,DNS:kubernetes,DNS:kubernetes.default,IP:10.96.0.1,IP:10.0.0.10"
  leaf apiserver-kubelet-client ca "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client" clientAuth
  leaf front-proxy-client front-proxy-ca /CN=front-proxy-client clientAuth
  leaf etcd/server etcd/ca /CN=cp-node-1 serverAuth,clientAuth "DNS:cp-node-1,DNS:localhost,IP:127.0.0.1"
  leaf etcd/peer etcd/ca /CN=cp-node-1 serverAuth,clientAuth "DNS:cp-node-1,DNS:localhost,IP:127.0.0.1"
  leaf etcd/healthcheck-client etcd/ca /CN=kube-etcd-healthcheck-client clientAuth
  leaf apiserver-etcd-client etcd/ca /CN=kube-apiserver-etcd-client clientAuth
  for u in admin super-admin kubelet controller-manager scheduler; do leaf "$u" ca "/CN=$u" clientAuth; done
  key "$d/sa.key"; openssl pkey -in "$d/sa.key" -pubout -out "$d/sa.pub"
}

mean_ms() { # command... ; runs N times in fresh dirs, prints the mean in ms
  local total=0
  for i in $(seq "$N"); do
    local d="$work/run-$RANDOM-$i"
    local t0 t1
    t0=$(date +%s%N)
    "$@" "$d" >/dev/null
    t1=$(date +%s%N)
    total=$((total + (t1 - t0) / 1000000))
  done
  echo $((total / N))
}

kpki_tree() { "$KPKI" init --config "$CFG" --key-algorithm "$ALG" --cert-dir "$1/pki" --kubeconfig-dir "$1"; }

echo "algorithm $ALG, $N runs each, $(nproc) cores"
echo "kpki init (16 keys, 15 certificates, 5 kubeconfigs): $(mean_ms kpki_tree) ms"
echo "openssl route (16 keys, 15 certificates, no kubeconfigs): $(mean_ms openssl_tree) ms"
