#!/usr/bin/env python3
"""Compares a tree made by real kubeadm with a kpki tree made from the same config, field by
field, with Python `cryptography`. Keys, serials and dates may differ; every other difference
is printed as one line 'file: field: kubeadm=… kpki=…'. The caller compares the printed set
with the differences newer kubeadm is known to have (reference §1–§3).

usage: compare_with_kubeadm.py KUBEADM_DIR KPKI_DIR   (each holding pki/ and the *.conf files)
"""
import base64
import os
import sys
import warnings

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

warnings.simplefilter("ignore")  # kubeadm v1.20 CAs have serial 0, which cryptography warns about

CERTS = ["ca", "apiserver", "apiserver-kubelet-client", "front-proxy-ca", "front-proxy-client",
         "etcd/ca", "etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client"]
CAS = {"ca", "front-proxy-ca", "etcd/ca"}
KUBECONFIGS = ["admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"]


def ext(cert, cls):
    try:
        e = cert.extensions.get_extension_for_class(cls)
        return e
    except x509.ExtensionNotFound:
        return None


def describe_key(k):
    if isinstance(k, rsa.RSAPublicKey):
        return f"RSA-{k.key_size}"
    if isinstance(k, ec.EllipticCurvePublicKey):
        return f"EC-{k.curve.name}"
    return type(k).__name__


def fields(cert, ca):
    """Everything about a certificate except keys, serials and dates."""
    f = {}
    f["subject"] = cert.subject.rfc4514_string()
    f["issuer"] = cert.issuer.rfc4514_string()
    f["version"] = cert.version.name
    f["signature algorithm"] = cert.signature_algorithm_oid._name
    f["public key"] = describe_key(cert.public_key())
    ku = ext(cert, x509.KeyUsage)
    f["key usage"] = None if ku is None else (ku.critical, str(ku.value))
    eku = ext(cert, x509.ExtendedKeyUsage)
    f["extended key usage"] = None if eku is None else [o._name for o in eku.value]
    bc = ext(cert, x509.BasicConstraints)
    f["basic constraints"] = None if bc is None else f"critical={bc.critical} CA={bc.value.ca} pathlen={bc.value.path_length}"
    f["subject key id"] = "absent" if ext(cert, x509.SubjectKeyIdentifier) is None else "SHA-1 of key" if (
        ext(cert, x509.SubjectKeyIdentifier).value.digest
        == x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest) else "other"
    aki = ext(cert, x509.AuthorityKeyIdentifier)
    if aki is None:
        f["authority key id"] = "absent"
    else:
        ca_ski = ext(ca, x509.SubjectKeyIdentifier) if ca is not None else None
        f["authority key id"] = "= CA SKI" if ca_ski and aki.value.key_identifier == ca_ski.value.digest else "other"
    san = ext(cert, x509.SubjectAlternativeName)
    f["SANs"] = None if san is None else [str(n.value) for n in san.value]
    f["validity"] = str(cert.not_valid_after_utc - cert.not_valid_before_utc)
    f["extension order"] = [e.oid._name for e in cert.extensions]
    return f


def pem_types(path):
    return [l[11:-5] for l in open(path).read().splitlines() if l.startswith("-----BEGIN ")]


def mode(path):
    return oct(os.stat(path).st_mode & 0o777)


def kubeconfig_fields(path):
    kc = yaml.safe_load(open(path))
    f = {}
    for key in ("apiVersion", "kind", "current-context", "preferences"):
        f[key] = kc.get(key)
    f["clusters"] = [(c["name"], sorted(c["cluster"]), c["cluster"].get("server")) for c in kc["clusters"]]
    f["contexts"] = [(c["name"], c["context"]) for c in kc["contexts"]]
    f["users"] = [(u["name"], sorted(u["user"])) for u in kc["users"]]
    u = kc["users"][0]["user"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(u["client-certificate-data"]))
    ca = x509.load_pem_x509_certificate(base64.b64decode(kc["clusters"][0]["cluster"]["certificate-authority-data"]))
    for k, v in fields(cert, ca).items():
        f["client cert " + k] = v
    f["client key PEM"] = base64.b64decode(u["client-key-data"]).decode().splitlines()[0]
    return f


def main():
    a_dir, b_dir = sys.argv[1:3]
    diffs = []

    def compare(name, fa, fb):
        for k in sorted(set(fa) | set(fb)):
            if fa.get(k) != fb.get(k):
                diffs.append(f"{name}: {k}: kubeadm={fa.get(k)} kpki={fb.get(k)}")

    loaded = {}
    for base in CERTS:
        pair = []
        for root in (a_dir, b_dir):
            crt = os.path.join(root, "pki", base + ".crt")
            key = os.path.join(root, "pki", base + ".key")
            cert = x509.load_pem_x509_certificate(open(crt, "rb").read())
            loaded[(root, base)] = cert
            ca_base = base if base in CAS else ("etcd/ca" if base.startswith("etcd/") or base == "apiserver-etcd-client"
                                                else "front-proxy-ca" if base.startswith("front-proxy") else "ca")
            f = fields(cert, loaded.get((root, ca_base)))
            f["cert PEM"] = pem_types(crt)
            f["key PEM"] = pem_types(key)
            pk = serialization.load_pem_private_key(open(key, "rb").read(), None)
            f["key matches"] = pk.public_key().public_numbers() == cert.public_key().public_numbers()
            pair.append(f)
        compare(base, *pair)
    pair = []
    for root in (a_dir, b_dir):
        pair.append({"sa.key PEM": pem_types(os.path.join(root, "pki", "sa.key")),
                     "sa.pub PEM": pem_types(os.path.join(root, "pki", "sa.pub"))})
    compare("sa", *pair)
    for name in KUBECONFIGS:
        pa, pb = os.path.join(a_dir, name), os.path.join(b_dir, name)
        if not os.path.exists(pa) or not os.path.exists(pb):
            diffs.append(f"{name}: file: kubeadm={os.path.exists(pa)} kpki={os.path.exists(pb)}")
            continue
        compare(name, kubeconfig_fields(pa), kubeconfig_fields(pb))
    print("\n".join(diffs))


if __name__ == "__main__":
    main()
