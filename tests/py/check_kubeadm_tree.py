#!/usr/bin/env python3
"""Checks a kubeadm-layout tree against shared/reference/kubeadm-pki.md (v1.31+ behaviour),
using Python `cryptography` — independent of kpki's own parser and certificate table.

usage: check_kubeadm_tree.py CERT_DIR KUBECONFIG_DIR ALGORITHM NOW_UNIX [CLUSTER]
CLUSTER is one of the cluster descriptions below (default: fixture).
Prints 'ok: N checks' and exits 0, or lists every failure and exits 1.
"""
import base64
import datetime as dt
import hashlib
import ipaddress
import os
import stat
import sys

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CLUSTERS = {
    # fixtures/configs/cluster-v1beta4.yaml
    "fixture": dict(
        node="cp-node-1", advertise="10.0.0.10", cluster="kubernetes",
        apiserver_dns=["*.apps.example.test", "api.example.test", "cp-node-1", "kubernetes",
                       "kubernetes.default", "kubernetes.default.svc",
                       "kubernetes.default.svc.cluster.local"],
        apiserver_ips=["10.96.0.1", "10.0.0.10", "127.0.0.1", "10.0.0.100"],
        etcd_server_dns=["cp-node-1", "etcd.example.test", "localhost"],
        etcd_server_ips=["10.0.0.10", "127.0.0.1", "::1", "10.0.0.20"],
        etcd_peer_dns=["cp-node-1", "localhost"],
        etcd_peer_ips=["10.0.0.10", "127.0.0.1", "::1", "10.0.0.21"],
        cp_url="https://10.0.0.10:6443", local_url="https://10.0.0.10:6443",
    ),
    # fixtures/configs/local-etcd-127.yaml
    "local": dict(
        node="node-a", advertise="127.0.0.1", cluster="local",
        apiserver_dns=["kubernetes", "kubernetes.default", "kubernetes.default.svc",
                       "kubernetes.default.svc.cluster.local", "node-a"],
        apiserver_ips=["10.96.0.1", "127.0.0.1"],
        etcd_server_dns=["localhost", "node-a"], etcd_server_ips=["127.0.0.1", "::1"],
        etcd_peer_dns=["localhost", "node-a"], etcd_peer_ips=["127.0.0.1", "::1"],
        cp_url="https://127.0.0.1:6443", local_url="https://127.0.0.1:6443",
    ),
}

SERVER, CLIENT = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
HOUR = 3600
failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)


def expected_certs(c):
    """(file base, CA base or None, CN, [O], [EKU], dns, ips) per reference §1.1/§1.3."""
    return [
        ("ca", None, "kubernetes", [], [], ["kubernetes"], []),
        ("apiserver", "ca", "kube-apiserver", [], [SERVER], c["apiserver_dns"], c["apiserver_ips"]),
        ("apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client",
         ["kubeadm:cluster-admins"], [CLIENT], [], []),
        ("front-proxy-ca", None, "front-proxy-ca", [], [], ["front-proxy-ca"], []),
        ("front-proxy-client", "front-proxy-ca", "front-proxy-client", [], [CLIENT], [], []),
        ("etcd/ca", None, "etcd-ca", [], [], ["etcd-ca"], []),
        ("etcd/server", "etcd/ca", c["node"], [], [SERVER, CLIENT], c["etcd_server_dns"], c["etcd_server_ips"]),
        ("etcd/peer", "etcd/ca", c["node"], [], [SERVER, CLIENT], c["etcd_peer_dns"], c["etcd_peer_ips"]),
        ("etcd/healthcheck-client", "etcd/ca", "kube-etcd-healthcheck-client", [], [CLIENT], [], []),
        ("apiserver-etcd-client", "etcd/ca", "kube-apiserver-etcd-client", [], [CLIENT], [], []),
    ]


def expected_kubeconfigs(c):
    """(file, user CN, [O], server) per reference §3 (v1.29+)."""
    return [
        ("admin.conf", "kubernetes-admin", ["kubeadm:cluster-admins"], c["cp_url"]),
        ("super-admin.conf", "kubernetes-super-admin", ["system:masters"], c["cp_url"]),
        ("kubelet.conf", f"system:node:{c['node']}", ["system:nodes"], c["cp_url"]),
        ("controller-manager.conf", "system:kube-controller-manager", [], c["local_url"]),
        ("scheduler.conf", "system:kube-scheduler", [], c["local_url"]),
    ]


def pem_types(path):
    text = open(path).read()
    return [line[len("-----BEGIN "):-len("-----")] for line in text.splitlines() if line.startswith("-----BEGIN ")]


def key_matches_alg(key, alg, label):
    if alg.startswith("RSA-"):
        check(isinstance(key, rsa.RSAPrivateKey) and key.key_size == int(alg[4:]), f"{label}: expected {alg}")
    elif alg == "ECDSA-P256":
        check(isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1", f"{label}: expected P-256")
    elif alg == "ECDSA-P384":
        check(isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1", f"{label}: expected P-384")
    elif alg == "ED25519":
        check(isinstance(key, ed25519.Ed25519PrivateKey), f"{label}: expected Ed25519")


def key_pem_type(alg):
    return {"RSA": "RSA PRIVATE KEY", "ECDSA": "EC PRIVATE KEY", "ED25519": "PRIVATE KEY"}[alg.split("-")[0]]


def public_bytes(k):
    """SPKI DER of a certificate's, a private key's or a public key's public half."""
    if hasattr(k, "public_key"):
        k = k.public_key()
    return k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def subject_rdns(cert):
    return [[(a.oid, a.value) for a in rdn] for rdn in cert.subject.rdns]


def expected_rdns(cn, orgs):
    rdns = []
    if orgs:
        rdns.append([(NameOID.ORGANIZATION_NAME, o) for o in orgs])
    rdns.append([(NameOID.COMMON_NAME, cn)])
    return rdns


def ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def check_cert(label, cert, ca, cn, orgs, ekus, dns, ips, is_ca, validity_h, now):
    check(subject_rdns(cert) == expected_rdns(cn, orgs),
          f"{label}: subject {cert.subject.rfc4514_string()} != O={orgs} CN={cn}")
    issuer = ca or cert
    check(cert.issuer == issuer.subject, f"{label}: issuer {cert.issuer.rfc4514_string()}")
    try:
        cert.verify_directly_issued_by(issuer)
        check(True, "")
    except Exception as e:  # noqa: BLE001
        check(False, f"{label}: signature does not verify with its CA: {e}")
    ku = ext(cert, x509.KeyUsage)
    check(ku is not None and ku.critical, f"{label}: KeyUsage missing or not critical")
    if ku:
        v = ku.value
        check(v.digital_signature and v.key_encipherment and v.key_cert_sign == is_ca
              and not v.crl_sign and not v.content_commitment and not v.data_encipherment and not v.key_agreement,
              f"{label}: KeyUsage {v}")
    eku = ext(cert, x509.ExtendedKeyUsage)
    check((list(eku.value) if eku else []) == ekus, f"{label}: EKU {eku and list(eku.value)} != {ekus}")
    bc = ext(cert, x509.BasicConstraints)
    check(bc is not None and bc.critical and bc.value.ca == is_ca and bc.value.path_length is None,
          f"{label}: BasicConstraints {bc}")
    ski = ext(cert, x509.SubjectKeyIdentifier)
    if is_ca:
        bits = x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
        check(ski is not None and ski.value.digest == bits, f"{label}: SKI missing or not SHA-1 of the key")
        check(ext(cert, x509.AuthorityKeyIdentifier) is None, f"{label}: CA has an AKI")
    else:
        check(ski is None, f"{label}: leaf has an SKI")
        aki = ext(cert, x509.AuthorityKeyIdentifier)
        ca_ski = ext(ca, x509.SubjectKeyIdentifier).value.digest
        check(aki is not None and aki.value.key_identifier == ca_ski, f"{label}: AKI != CA SKI")
    san = ext(cert, x509.SubjectAlternativeName)
    got_dns = san.value.get_values_for_type(x509.DNSName) if san else []
    got_ips = [str(i) for i in san.value.get_values_for_type(x509.IPAddress)] if san else []
    check(got_dns == dns, f"{label}: DNS SANs {got_dns} != {dns}")
    check(got_ips == [str(ipaddress.ip_address(i)) for i in ips], f"{label}: IP SANs {got_ips} != {ips}")
    if san:
        check(not san.critical, f"{label}: SAN critical")
    nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
    check(nb == now - dt.timedelta(minutes=5), f"{label}: NotBefore {nb} != now-5m")
    check(na == now + dt.timedelta(hours=validity_h), f"{label}: NotAfter {na} != now+{validity_h}h")
    check(cert.version == x509.Version.v3, f"{label}: not v3")
    check(1 <= cert.serial_number < 2**63 - 1, f"{label}: serial {cert.serial_number} out of range")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def main():
    cert_dir, kc_dir, alg, now_unix = sys.argv[1:5]
    cluster = CLUSTERS[sys.argv[5] if len(sys.argv) > 5 else "fixture"]
    now = dt.datetime.fromtimestamp(int(now_unix), dt.timezone.utc)
    certs = {}
    for base, ca_base, cn, orgs, ekus, dns, ips in expected_certs(cluster):
        crt, keyf = os.path.join(cert_dir, base + ".crt"), os.path.join(cert_dir, base + ".key")
        check(pem_types(crt) == ["CERTIFICATE"], f"{base}.crt: PEM blocks {pem_types(crt)}")
        check(pem_types(keyf) == [key_pem_type(alg)], f"{base}.key: PEM blocks {pem_types(keyf)} for {alg}")
        check(mode(crt) == 0o644, f"{base}.crt: mode {oct(mode(crt))}")
        check(mode(keyf) == 0o600, f"{base}.key: mode {oct(mode(keyf))}")
        cert = x509.load_pem_x509_certificate(open(crt, "rb").read())
        key = serialization.load_pem_private_key(open(keyf, "rb").read(), password=None)
        key_matches_alg(key, alg, base + ".key")
        check(public_bytes(key) == public_bytes(cert), f"{base}: key does not match certificate")
        certs[base] = cert
        is_ca = ca_base is None
        check_cert(base, cert, certs.get(ca_base), cn, orgs, ekus, dns, ips, is_ca,
                   87600 if is_ca else 8760, now)
    check(mode(os.path.join(cert_dir, "etcd")) == 0o755, "etcd/: mode")

    sa_key = os.path.join(cert_dir, "sa.key")
    sa_pub = os.path.join(cert_dir, "sa.pub")
    sa_alg = "ECDSA-P256" if alg == "ED25519" else alg
    check(pem_types(sa_key) == [key_pem_type(sa_alg)], f"sa.key: PEM {pem_types(sa_key)}")
    check(pem_types(sa_pub) == ["PUBLIC KEY"], f"sa.pub: PEM {pem_types(sa_pub)}")
    check(mode(sa_key) == 0o600 and mode(sa_pub) == 0o600, "sa.key/sa.pub: modes")
    k = serialization.load_pem_private_key(open(sa_key, "rb").read(), password=None)
    key_matches_alg(k, sa_alg, "sa.key")
    p = serialization.load_pem_public_key(open(sa_pub, "rb").read())
    check(public_bytes(k) == public_bytes(p), "sa.pub does not match sa.key")

    ca_pem = open(os.path.join(cert_dir, "ca.crt")).read()
    for fname, cn, orgs, server in expected_kubeconfigs(cluster):
        path = os.path.join(kc_dir, fname)
        check(mode(path) == 0o600, f"{fname}: mode {oct(mode(path))}")
        kc = yaml.safe_load(open(path))
        user = cn
        ctx = f"{user}@{cluster['cluster']}"
        check(kc.get("apiVersion") == "v1" and kc.get("kind") == "Config", f"{fname}: apiVersion/kind")
        check(kc.get("current-context") == ctx, f"{fname}: current-context {kc.get('current-context')}")
        check([c["name"] for c in kc["clusters"]] == [cluster["cluster"]], f"{fname}: clusters")
        check([c["name"] for c in kc["contexts"]] == [ctx], f"{fname}: contexts")
        check(kc["contexts"][0]["context"] == {"cluster": cluster["cluster"], "user": user}, f"{fname}: context body")
        check([u["name"] for u in kc["users"]] == [user], f"{fname}: users")
        cl = kc["clusters"][0]["cluster"]
        check(cl.get("server") == server, f"{fname}: server {cl.get('server')} != {server}")
        check(base64.b64decode(cl["certificate-authority-data"]).decode() == ca_pem, f"{fname}: CA data != ca.crt")
        u = kc["users"][0]["user"]
        check(set(u) == {"client-certificate-data", "client-key-data"}, f"{fname}: user fields {sorted(u)}")
        cert = x509.load_pem_x509_certificate(base64.b64decode(u["client-certificate-data"]))
        key_pem = base64.b64decode(u["client-key-data"])
        check(key_pem.decode().startswith(f"-----BEGIN {key_pem_type(alg)}-----"), f"{fname}: key PEM type")
        key = serialization.load_pem_private_key(key_pem, password=None)
        key_matches_alg(key, alg, fname)
        check(public_bytes(key) == public_bytes(cert), f"{fname}: client key does not match its certificate")
        check_cert(fname, cert, certs["ca"], cn, orgs, [CLIENT], [], [], False, 8760, now)

    if failures:
        print("\n".join(failures))
        print(f"{len(failures)} failed of {checks} checks")
        sys.exit(1)
    print(f"ok: {checks} checks")


if __name__ == "__main__":
    main()
