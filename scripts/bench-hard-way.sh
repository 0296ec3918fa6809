#!/usr/bin/env bash
# Bulk issuance for the hard-way profile: `kpki init` for N workers (wall time, certificates per
# second, peak memory), against the openssl route for M workers (genrsa/ecparam + req + x509
# with an alt_names extension file per worker, what the guides do), on this machine.
# Usage: scripts/bench-hard-way.sh [N=5000] [ALGORITHM=ECDSA-P256] [M=100]
set -euo pipefail
N=${1:-5000}
ALG=${2:-ECDSA-P256}
M=${3:-100}
cd "$(dirname "$0")/.."
cargo build --release -q -p pki-cli
KPKI=$PWD/target/release/kpki
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cluster() { # $1 = number of workers
  sed -e "s/keyAlgorithm: RSA-2048/keyAlgorithm: $ALG/" -e '/^workers:/,$d' fixtures/hard-way/cluster.yaml
  echo "workers:"
  for i in $(seq 0 $(($1 - 1))); do echo "- name: worker-$i"; echo "  ips: [10.$((i / 65536 % 256 + 100)).$((i / 256 % 256)).$((i % 256))]"; done
}
cluster "$N" > "$work/cluster.yaml"

/usr/bin/time -v "$KPKI" init --profile hard-way --cluster "$work/cluster.yaml" --cert-dir "$work/kpki" > /dev/null 2> "$work/time.txt"
secs=$(grep "Elapsed (wall clock)" "$work/time.txt" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
rss=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
certs=$(ls "$work/kpki"/*.crt | wc -l)
echo "kpki init, $N workers, $ALG, $(nproc) cores: $certs certificates + $((N + 4)) kubeconfigs in ${secs}s = $(awk "BEGIN{printf \"%.0f\", $certs/$secs}") certificates/s, peak RSS $((rss / 1024)) MiB"
"$KPKI" verify --profile hard-way --cluster "$work/cluster.yaml" --cert-dir "$work/kpki" | tail -1

# The openssl route for M workers (one CA, then per worker: key, CSR, signed certificate).
d="$work/openssl"; mkdir -p "$d"
if [[ $ALG == RSA-* ]]; then key() { openssl genrsa -out "$1" "${ALG#RSA-}" 2>/dev/null; }; else key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1"; }; fi
key "$d/ca.key"; openssl req -x509 -new -key "$d/ca.key" -subj "/CN=kubernetes-ca" -days 3650 -out "$d/ca.crt" 2>/dev/null
t0=$(date +%s%N)
for i in $(seq 0 $((M - 1))); do
  w=worker-$i
  key "$d/$w.key"
  openssl req -new -key "$d/$w.key" -subj "/CN=system:node:$w/O=system:nodes" -out "$d/$w.csr" 2>/dev/null
  printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s,IP:10.100.0.%d\n' "$w" $((i % 250)) > "$d/$w.ext"
  openssl x509 -req -in "$d/$w.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 365 -extfile "$d/$w.ext" -out "$d/$w.crt" 2>/dev/null
done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
echo "openssl route, $M workers, $ALG: ${ms} ms = $(awk "BEGIN{printf \"%.0f\", $M*1000/$ms}") certificates/s (no kubeconfigs)"
