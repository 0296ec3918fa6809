#!/usr/bin/env python3
"""After any interruption, every certificate of a kubeadm-layout tree must sit beside the key it
was issued for and verify against its CA; every kubeconfig's client certificate must match its
key and chain to its CA data. Python `cryptography`, independent of kpki.

usage: check_pairs.py CERT_DIR KUBECONFIG_DIR      prints 'ok: N pairs' or the failures (exit 1)
"""
import base64
import os
import sys
import warnings

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

warnings.simplefilter("ignore")
LEAVES = {
    "apiserver": "ca", "apiserver-kubelet-client": "ca", "front-proxy-client": "front-proxy-ca",
    "etcd/server": "etcd/ca", "etcd/peer": "etcd/ca", "etcd/healthcheck-client": "etcd/ca",
    "apiserver-etcd-client": "etcd/ca",
}


def spki(obj):
    if hasattr(obj, "public_key"):
        obj = obj.public_key()
    return obj.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def main():
    cert_dir, kc_dir = sys.argv[1:3]
    failures, pairs = [], 0
    load_cert = lambda p: x509.load_pem_x509_certificate(open(p, "rb").read())
    load_key = lambda p: serialization.load_pem_private_key(open(p, "rb").read(), None)
    for base in ["ca", "front-proxy-ca", "etcd/ca"] + list(LEAVES):
        crt, key = os.path.join(cert_dir, base + ".crt"), os.path.join(cert_dir, base + ".key")
        if not os.path.exists(crt) and not os.path.exists(key):
            continue
        try:
            cert, k = load_cert(crt), load_key(key)
            if spki(cert) != spki(k):
                failures.append(f"{base}: certificate and key do not match")
            if base in LEAVES:
                cert.verify_directly_issued_by(load_cert(os.path.join(cert_dir, LEAVES[base] + ".crt")))
            pairs += 1
        except Exception as e:  # noqa: BLE001
            failures.append(f"{base}: {e!r}")
    for name in ["admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf", "kubelet.conf"]:
        path = os.path.join(kc_dir, name)
        if not os.path.exists(path):
            continue
        try:
            kc = yaml.safe_load(open(path))
            user = kc["users"][0]["user"]
            cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
            key = serialization.load_pem_private_key(base64.b64decode(user["client-key-data"]), None)
            ca = x509.load_pem_x509_certificate(base64.b64decode(kc["clusters"][0]["cluster"]["certificate-authority-data"]))
            if spki(cert) != spki(key):
                failures.append(f"{name}: client certificate and key do not match")
            cert.verify_directly_issued_by(ca)
            pairs += 1
        except Exception as e:  # noqa: BLE001
            failures.append(f"{name}: {e!r}")
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"ok: {pairs} pairs")


if __name__ == "__main__":
    main()
