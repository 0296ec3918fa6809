//! The certificate table: every certificate and kubeconfig of the kubeadm layout as data.
//!
//! As in kubeadm's `certlist.go`, one declarative list says what each certificate is (file,
//! CA, subject, usages, how its SANs are derived) and one generic path issues any entry, so
//! `certs list`, `init`, `renew`, `check-expiration` and `verify` read the same rows.

use crate::cert::{CertificateParams, ExtKeyUsage, KeyUsage, Sans, Subject, BACKDATE};
use crate::config::ClusterConfig;
use std::time::SystemTime;

/// How a certificate's common name is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommonName {
    /// A fixed name.
    Fixed(&'static str),
    /// The node name (etcd server and peer).
    NodeName,
    /// `system:node:<node name>` (kubelet.conf).
    NodeUser,
}

/// Which SAN rule of reference §1.3 applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SanRule {
    /// No SANs (client certificates).
    None,
    /// The CA's own name as a DNS SAN (kubeadm ≥ v1.31 does this for CAs).
    OwnName,
    /// The API server's serving names.
    ApiServer,
    /// etcd's serving names.
    EtcdServer,
    /// etcd's peer names.
    EtcdPeer,
}

/// One certificate of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertSpec {
    /// The phase name used on the command line (`etcd-server`).
    pub name: &'static str,
    /// The path of `.crt`/`.key` relative to the cert dir, without extension (`etcd/server`).
    pub base: &'static str,
    /// What it is for, as kubeadm words it in `certs renew`.
    pub description: &'static str,
    /// The name of the CA that signs it; `None` for a CA.
    pub ca: Option<&'static str>,
    /// Common name.
    pub common_name: CommonName,
    /// Organizations (Kubernetes groups).
    pub organizations: &'static [&'static str],
    /// Extended key usages, in kubeadm's order.
    pub usages: &'static [ExtKeyUsage],
    /// SAN rule.
    pub sans: SanRule,
    /// Only made when etcd is local.
    pub local_etcd_only: bool,
    /// The components that read it (to restart after renewal).
    pub used_by: &'static [&'static str],
}

const APISERVER: &[&str] = &["kube-apiserver"];
const ETCD: &[&str] = &["etcd"];
const SERVER: &[ExtKeyUsage] = &[ExtKeyUsage::ServerAuth];
const CLIENT: &[ExtKeyUsage] = &[ExtKeyUsage::ClientAuth];
const BOTH: &[ExtKeyUsage] = &[ExtKeyUsage::ServerAuth, ExtKeyUsage::ClientAuth];

/// kubeadm's certificates, in the order kubeadm generates them (reference §1.1, v1.31+ subjects).
pub static KUBEADM_CERTS: &[CertSpec] = &[
    CertSpec {
        name: "ca",
        base: "ca",
        description: "certificate authority",
        ca: None,
        common_name: CommonName::Fixed("kubernetes"),
        organizations: &[],
        usages: &[],
        sans: SanRule::OwnName,
        local_etcd_only: false,
        used_by: &["kube-apiserver", "kube-controller-manager"],
    },
    CertSpec {
        name: "apiserver",
        base: "apiserver",
        description: "certificate for serving the Kubernetes API",
        ca: Some("ca"),
        common_name: CommonName::Fixed("kube-apiserver"),
        organizations: &[],
        usages: SERVER,
        sans: SanRule::ApiServer,
        local_etcd_only: false,
        used_by: APISERVER,
    },
    CertSpec {
        name: "apiserver-kubelet-client",
        base: "apiserver-kubelet-client",
        description: "certificate for the API server to connect to kubelet",
        ca: Some("ca"),
        common_name: CommonName::Fixed("kube-apiserver-kubelet-client"),
        organizations: &["kubeadm:cluster-admins"],
        usages: CLIENT,
        sans: SanRule::None,
        local_etcd_only: false,
        used_by: APISERVER,
    },
    CertSpec {
        name: "front-proxy-ca",
        base: "front-proxy-ca",
        description: "front-proxy certificate authority",
        ca: None,
        common_name: CommonName::Fixed("front-proxy-ca"),
        organizations: &[],
        usages: &[],
        sans: SanRule::OwnName,
        local_etcd_only: false,
        used_by: APISERVER,
    },
    CertSpec {
        name: "front-proxy-client",
        base: "front-proxy-client",
        description: "certificate for the front proxy client",
        ca: Some("front-proxy-ca"),
        common_name: CommonName::Fixed("front-proxy-client"),
        organizations: &[],
        usages: CLIENT,
        sans: SanRule::None,
        local_etcd_only: false,
        used_by: APISERVER,
    },
    CertSpec {
        name: "etcd-ca",
        base: "etcd/ca",
        description: "etcd certificate authority",
        ca: None,
        common_name: CommonName::Fixed("etcd-ca"),
        organizations: &[],
        usages: &[],
        sans: SanRule::OwnName,
        local_etcd_only: true,
        used_by: &["etcd", "kube-apiserver"],
    },
    CertSpec {
        name: "etcd-server",
        base: "etcd/server",
        description: "certificate for serving etcd",
        ca: Some("etcd-ca"),
        common_name: CommonName::NodeName,
        organizations: &[],
        usages: BOTH,
        sans: SanRule::EtcdServer,
        local_etcd_only: true,
        used_by: ETCD,
    },
    CertSpec {
        name: "etcd-peer",
        base: "etcd/peer",
        description: "certificate for etcd nodes to communicate with each other",
        ca: Some("etcd-ca"),
        common_name: CommonName::NodeName,
        organizations: &[],
        usages: BOTH,
        sans: SanRule::EtcdPeer,
        local_etcd_only: true,
        used_by: ETCD,
    },
    CertSpec {
        name: "etcd-healthcheck-client",
        base: "etcd/healthcheck-client",
        description: "certificate for liveness probes to healthcheck etcd",
        ca: Some("etcd-ca"),
        common_name: CommonName::Fixed("kube-etcd-healthcheck-client"),
        organizations: &[],
        usages: CLIENT,
        sans: SanRule::None,
        local_etcd_only: true,
        used_by: ETCD,
    },
    CertSpec {
        name: "apiserver-etcd-client",
        base: "apiserver-etcd-client",
        description: "certificate the apiserver uses to access etcd",
        ca: Some("etcd-ca"),
        common_name: CommonName::Fixed("kube-apiserver-etcd-client"),
        organizations: &[],
        usages: CLIENT,
        sans: SanRule::None,
        local_etcd_only: true,
        used_by: APISERVER,
    },
];

/// Which server URL a kubeconfig points at (reference §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointRule {
    /// The control-plane endpoint (or the local endpoint when none is set).
    ControlPlane,
    /// The local API endpoint (advertise address and bind port).
    Local,
}

/// One kubeconfig file of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KubeconfigSpec {
    /// File name in the kubeconfig dir (`admin.conf`).
    pub file: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// The client certificate's CN (and user name).
    pub user: CommonName,
    /// The client certificate's organizations.
    pub organizations: &'static [&'static str],
    /// Which server URL.
    pub endpoint: EndpointRule,
    /// Whether `certs renew` handles it (kubelet.conf is rotated by the kubelet itself).
    pub renewable: bool,
    /// Whether a missing file is normal (clusters made before kubeadm v1.29 have no
    /// super-admin.conf).
    pub optional: bool,
    /// The components that read it.
    pub used_by: &'static [&'static str],
}

/// kubeadm's kubeconfig files (reference §3, v1.29+).
pub static KUBEADM_KUBECONFIGS: &[KubeconfigSpec] = &[
    KubeconfigSpec {
        file: "admin.conf",
        description: "certificate embedded in the kubeconfig file for the admin to use and for kubeadm itself",
        user: CommonName::Fixed("kubernetes-admin"),
        organizations: &["kubeadm:cluster-admins"],
        endpoint: EndpointRule::ControlPlane,
        renewable: true,
        optional: false,
        used_by: &[],
    },
    KubeconfigSpec {
        file: "super-admin.conf",
        description: "certificate embedded in the kubeconfig file for the super-admin",
        user: CommonName::Fixed("kubernetes-super-admin"),
        organizations: &["system:masters"],
        endpoint: EndpointRule::ControlPlane,
        renewable: true,
        optional: true,
        used_by: &[],
    },
    KubeconfigSpec {
        file: "kubelet.conf",
        description: "certificate embedded in the kubeconfig file for the kubelet",
        user: CommonName::NodeUser,
        organizations: &["system:nodes"],
        endpoint: EndpointRule::ControlPlane,
        renewable: false,
        optional: false,
        used_by: &["kubelet"],
    },
    KubeconfigSpec {
        file: "controller-manager.conf",
        description: "certificate embedded in the kubeconfig file for the controller manager to use",
        user: CommonName::Fixed("system:kube-controller-manager"),
        organizations: &[],
        endpoint: EndpointRule::Local,
        renewable: true,
        optional: false,
        used_by: &["kube-controller-manager"],
    },
    KubeconfigSpec {
        file: "scheduler.conf",
        description: "certificate embedded in the kubeconfig file for the scheduler manager to use",
        user: CommonName::Fixed("system:kube-scheduler"),
        organizations: &[],
        endpoint: EndpointRule::Local,
        renewable: true,
        optional: false,
        used_by: &["kube-scheduler"],
    },
];

/// The names of the service-account key pair's files.
pub const SA_KEY: &str = "sa.key";
/// See [`SA_KEY`].
pub const SA_PUB: &str = "sa.pub";

impl CommonName {
    /// The name for a given cluster.
    pub fn resolve(self, config: &ClusterConfig) -> String {
        match self {
            CommonName::Fixed(s) => s.to_string(),
            CommonName::NodeName => config.node_name.clone(),
            CommonName::NodeUser => format!("system:node:{}", config.node_name),
        }
    }
}

impl CertSpec {
    /// Looks a certificate up by phase name.
    pub fn by_name(name: &str) -> Option<&'static CertSpec> {
        KUBEADM_CERTS.iter().find(|s| s.name == name)
    }

    /// Whether this entry is a CA.
    pub fn is_ca(&self) -> bool {
        self.ca.is_none()
    }

    /// `<base>.crt`.
    pub fn cert_file(&self) -> String {
        format!("{}.crt", self.base)
    }

    /// `<base>.key`.
    pub fn key_file(&self) -> String {
        format!("{}.key", self.base)
    }

    /// The certificates of the table that this cluster has (no etcd ones with external etcd).
    pub fn for_cluster(config: &ClusterConfig) -> impl Iterator<Item = &'static CertSpec> + '_ {
        KUBEADM_CERTS
            .iter()
            .filter(move |s| !(s.local_etcd_only && config.external_etcd))
    }

    /// The SANs this certificate must carry for `config`.
    pub fn sans(&self, config: &ClusterConfig) -> Sans {
        match self.sans {
            SanRule::None => Sans::default(),
            SanRule::OwnName => Sans {
                dns: vec![self.common_name.resolve(config)],
                ips: vec![],
                ..Default::default()
            },
            SanRule::ApiServer => config.apiserver_sans(),
            SanRule::EtcdServer => config.etcd_server_sans(),
            SanRule::EtcdPeer => config.etcd_peer_sans(),
        }
    }
}

impl KubeconfigSpec {
    /// Looks a kubeconfig up by file name (`admin.conf`) or bare name (`admin`).
    pub fn by_name(name: &str) -> Option<&'static KubeconfigSpec> {
        KUBEADM_KUBECONFIGS
            .iter()
            .find(|s| s.file == name || s.file.strip_suffix(".conf") == Some(name))
    }

    /// The server URL for `config`.
    pub fn server(&self, config: &ClusterConfig) -> String {
        match self.endpoint {
            EndpointRule::ControlPlane => config.control_plane_url(),
            EndpointRule::Local => config.local_endpoint_url(),
        }
    }
}

/// kubeadm's key usages: CAs sign certificates too; every certificate may sign and encipher.
pub fn key_usages(is_ca: bool) -> Vec<KeyUsage> {
    let mut usages = vec![KeyUsage::DigitalSignature, KeyUsage::KeyEncipherment];
    if is_ca {
        usages.push(KeyUsage::CertSign);
    }
    usages
}

/// A client certificate's parameters (kubeconfig users): clientAuth, no SANs.
pub fn client_params(
    subject: Subject,
    now: SystemTime,
    validity: std::time::Duration,
) -> CertificateParams {
    CertificateParams {
        subject,
        subject_name: None,
        is_ca: false,
        key_usages: key_usages(false),
        ext_key_usages: CLIENT.to_vec(),
        sans: Sans::default(),
        not_before: now - BACKDATE,
        not_after: now + validity,
        basic_constraints_on_leaf: true,
    }
}

/// kubeadm's table resolved for `config`: the [`Layout`](crate::layout::Layout) every command
/// works from. With external etcd the etcd certificates are left out.
pub fn kubeadm_layout(config: &ClusterConfig) -> crate::layout::Layout {
    use crate::layout::{CertEntry, ClientCert, KubeconfigEntry, Layout, ServiceAccountKeys};
    let certs = CertSpec::for_cluster(config)
        .map(|s| CertEntry {
            name: s.name.into(),
            base: s.base.into(),
            description: s.description.into(),
            ca: s.ca.map(String::from),
            subject: Subject::new(s.common_name.resolve(config), s.organizations),
            usages: s.usages.to_vec(),
            sans: s.sans(config),
            validity: if s.is_ca() {
                config.ca_validity
            } else {
                config.cert_validity
            },
            key_algorithm: config.key_algorithm,
            used_by: s.used_by.to_vec(),
        })
        .collect();
    let kubeconfigs = KUBEADM_KUBECONFIGS
        .iter()
        .map(|k| KubeconfigEntry {
            file: k.file.into(),
            description: k.description.into(),
            user: k.user.resolve(config),
            cluster_name: config.cluster_name.clone(),
            server: k.server(config),
            ca: "ca".into(),
            client: ClientCert::Own {
                subject: Subject::new(k.user.resolve(config), k.organizations),
                ca: "ca".into(),
                validity: config.cert_validity,
                key_algorithm: config.key_algorithm,
            },
            renewable: k.renewable,
            optional: k.optional,
            used_by: k.used_by.to_vec(),
        })
        .collect();
    Layout {
        profile: "kubeadm",
        certs,
        kubeconfigs,
        service_account: Some(ServiceAccountKeys {
            key_file: SA_KEY.into(),
            pub_file: SA_PUB.into(),
            key_algorithm: config.sa_key_algorithm,
        }),
    }
}
