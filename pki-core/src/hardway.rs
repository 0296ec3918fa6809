//! The hand-built ("hard way") profile: one CA and a flat layout (`name.crt`, `name.key`,
//! `name.kubeconfig`) for clusters built without kubeadm, driven by a cluster description file
//! of kpki's own.
//!
//! ```yaml
//! apiVersion: kpki.dev/v1alpha1
//! kind: Cluster
//! name: kubernetes                 # the kubeconfigs' cluster name
//! apiServerAddress: 203.0.113.10   # the API server's public address (IP or DNS name)
//! apiServerPort: 6443
//! serviceCIDR: 10.32.0.0/24        # its first address is the kubernetes service VIP
//! dnsDomain: cluster.local
//! adminName: admin                 # CN of the admin certificate (O system:masters)
//! keyAlgorithm: RSA-2048
//! certificateValidity: 8760h       # leaves: one year
//! caValidity: 87600h               # the CA: ten years
//! controllers:
//! - name: controller-0
//!   ips: [10.240.0.10]
//! workers:
//! - name: worker-0
//!   ips: [10.240.0.20]
//! ```

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cert::{ExtKeyUsage, Sans, Subject};
use crate::config::is_dns1123_subdomain;
use crate::duration;
use crate::error::{Error, Result};
use crate::key::KeyAlgorithm;
use crate::layout::{CertEntry, ClientCert, KubeconfigEntry, Layout};

/// A machine of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Its name (a DNS-1123 subdomain; the kubelet's node name).
    pub name: String,
    /// Its IP addresses.
    #[serde(default)]
    pub ips: Vec<String>,
}

/// The cluster description file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDescription {
    /// `kpki.dev/v1alpha1`.
    pub api_version: String,
    /// `Cluster`.
    pub kind: String,
    /// The cluster name in kubeconfigs.
    #[serde(default = "default_name")]
    pub name: String,
    /// The API server's public address.
    pub api_server_address: String,
    /// The API server's port.
    #[serde(default = "default_port")]
    pub api_server_port: u16,
    /// The service CIDR.
    #[serde(default = "default_service_cidr", rename = "serviceCIDR")]
    pub service_cidr: String,
    /// The cluster DNS domain.
    #[serde(default = "default_domain")]
    pub dns_domain: String,
    /// The admin certificate's CN.
    #[serde(default = "default_admin")]
    pub admin_name: String,
    /// Key algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_algorithm: Option<String>,
    /// Leaf validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_validity: Option<String>,
    /// CA validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_validity: Option<String>,
    /// Control-plane machines.
    #[serde(default)]
    pub controllers: Vec<Node>,
    /// Worker machines.
    #[serde(default)]
    pub workers: Vec<Node>,
}

fn default_name() -> String {
    "kubernetes".into()
}
fn default_port() -> u16 {
    6443
}
fn default_service_cidr() -> String {
    "10.32.0.0/24".into()
}
fn default_domain() -> String {
    "cluster.local".into()
}
fn default_admin() -> String {
    "admin".into()
}

impl ClusterDescription {
    /// Parses and validates a description file's text.
    pub fn from_yaml(text: &str) -> Result<ClusterDescription> {
        let value: serde_json::Value = serde_saphyr::from_str(text).map_err(|e| {
            Error::config(
                "cluster",
                format!(
                    "malformed YAML: {}",
                    e.to_string().lines().next().unwrap_or("")
                ),
            )
        })?;
        let desc: ClusterDescription = serde_path_to_error::deserialize(value)
            .map_err(|e| Error::config(e.path().to_string(), e.into_inner().to_string()))?;
        desc.validate()?;
        Ok(desc)
    }

    /// YAML for writing the file back (`node add`).
    pub fn to_yaml(&self) -> Result<String> {
        crate::yaml::to_string(self)
    }

    fn validate(&self) -> Result<()> {
        if self.api_version != "kpki.dev/v1alpha1" || self.kind != "Cluster" {
            return Err(Error::config(
                "apiVersion",
                format!(
                    "{}/{}: expected kpki.dev/v1alpha1 Cluster",
                    self.api_version, self.kind
                ),
            ));
        }
        let addr = &self.api_server_address;
        if addr.parse::<IpAddr>().is_err() && !is_dns1123_subdomain(&addr.to_ascii_lowercase()) {
            return Err(Error::config(
                "apiServerAddress",
                format!("{addr:?} is neither an IP address nor a DNS name"),
            ));
        }
        crate::config::ConfigInput {
            service_subnet: Some(self.service_cidr.clone()),
            ..Default::default()
        }
        .resolve(&crate::config::HostFacts {
            hostname: "x".into(),
            default_ipv4: Some([10, 0, 0, 1].into()),
        })
        .map_err(|e| {
            Error::config(
                "serviceCIDR",
                e.to_string().replace("networking.serviceSubnet: ", ""),
            )
        })?;
        if !is_dns1123_subdomain(&self.dns_domain) {
            return Err(Error::config(
                "dnsDomain",
                format!("{:?} is not a DNS-1123 subdomain", self.dns_domain),
            ));
        }
        if self.admin_name.trim().is_empty() {
            return Err(Error::config("adminName", "must not be empty"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (list, nodes) in [
            ("controllers", &self.controllers),
            ("workers", &self.workers),
        ] {
            for (i, n) in nodes.iter().enumerate() {
                if !is_dns1123_subdomain(&n.name) {
                    return Err(Error::config(
                        format!("{list}[{i}].name"),
                        format!("{:?} is not a DNS-1123 subdomain", n.name),
                    ));
                }
                if RESERVED.contains(&n.name.as_str()) || n.name.starts_with("etcd-") {
                    return Err(Error::config(
                        format!("{list}[{i}].name"),
                        format!("{:?} is taken by a certificate of the layout", n.name),
                    ));
                }
                if !seen.insert(n.name.clone()) {
                    return Err(Error::config(
                        format!("{list}[{i}].name"),
                        format!("{:?} appears twice", n.name),
                    ));
                }
                for (j, ip) in n.ips.iter().enumerate() {
                    if ip.parse::<IpAddr>().is_err() {
                        return Err(Error::config(
                            format!("{list}[{i}].ips[{j}]"),
                            format!("{ip:?} is not an IP address"),
                        ));
                    }
                }
            }
        }
        if self.controllers.is_empty() {
            return Err(Error::config(
                "controllers",
                "at least one controller is needed",
            ));
        }
        self.key_algorithm()?;
        self.validities()?;
        Ok(())
    }

    fn key_algorithm(&self) -> Result<KeyAlgorithm> {
        match &self.key_algorithm {
            Some(a) => a.parse().map_err(|e: Error| {
                Error::config("keyAlgorithm", e.to_string().replace("key algorithm: ", ""))
            }),
            None => Ok(KeyAlgorithm::Rsa2048),
        }
    }

    fn validities(&self) -> Result<(Duration, Duration)> {
        let parse = |v: &Option<String>, field: &str, hours: u64| match v {
            Some(t) => duration::parse(t, field).map_err(|e| {
                Error::config(field, e.to_string().replace(&format!("{field}: "), ""))
            }),
            None => Ok(Duration::from_secs(hours * 3600)),
        };
        Ok((
            parse(&self.certificate_validity, "certificateValidity", 8760)?,
            parse(&self.ca_validity, "caValidity", 87600)?,
        ))
    }

    /// The kubernetes service VIP.
    fn service_ip(&self) -> IpAddr {
        let input = crate::config::ConfigInput {
            service_subnet: Some(self.service_cidr.clone()),
            node_name: Some("x".into()),
            advertise_address: Some("10.0.0.1".into()),
            ..Default::default()
        };
        input
            .resolve(&crate::config::HostFacts {
                hostname: "x".into(),
                default_ipv4: None,
            })
            .map(|c| c.service_ip)
            .unwrap_or([0, 0, 0, 0].into())
    }

    fn public_url(&self) -> String {
        url(&self.api_server_address, self.api_server_port)
    }
}

fn url(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("https://[{host}]:{port}")
    } else {
        format!("https://{host}:{port}")
    }
}

/// Names the layout itself uses, which nodes may not take.
const RESERVED: [&str; 7] = [
    "ca",
    "admin",
    "kube-proxy",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-api-server",
    "service-accounts",
];

fn ips(nodes: &[&Node]) -> Vec<IpAddr> {
    nodes
        .iter()
        .flat_map(|n| n.ips.iter().filter_map(|i| i.parse().ok()))
        .collect()
}

/// The hard-way layout for a description: the CA; admin; one certificate per worker
/// (`system:node:<name>` in `system:nodes`, its name and IPs as SANs, client and server usages
/// as a kubelet needs); kube-proxy; kube-controller-manager; kube-scheduler; kube-api-server;
/// service-accounts; an etcd server certificate per controller. Kubeconfigs for admin, each
/// worker, kube-proxy, the controller manager and the scheduler embed those certificates;
/// workers, kube-proxy and admin talk to the public address, the control-plane components to
/// 127.0.0.1.
pub fn layout(desc: &ClusterDescription) -> Result<Layout> {
    let alg = desc.key_algorithm()?;
    let (leaf_validity, ca_validity) = desc.validities()?;
    let both = vec![ExtKeyUsage::ServerAuth, ExtKeyUsage::ClientAuth];
    let client = vec![ExtKeyUsage::ClientAuth];
    let entry = |name: &str,
                 description: &str,
                 subject: Subject,
                 usages: Vec<ExtKeyUsage>,
                 sans: Sans,
                 used_by: Vec<&'static str>| CertEntry {
        name: name.into(),
        base: name.into(),
        description: description.into(),
        ca: Some("ca".into()),
        subject,
        usages,
        sans,
        validity: leaf_validity,
        key_algorithm: alg,
        used_by,
    };
    let mut certs = vec![CertEntry {
        name: "ca".into(),
        base: "ca".into(),
        description: "certificate authority".into(),
        ca: None,
        // Not "kubernetes": that is the API server's CN, and a leaf whose subject equals its
        // issuer's looks self-signed to every verifier.
        subject: Subject::cn("kubernetes-ca"),
        usages: vec![],
        sans: Sans {
            dns: vec!["kubernetes-ca".into()],
            ..Default::default()
        },
        validity: ca_validity,
        key_algorithm: alg,
        used_by: vec![
            "kube-apiserver",
            "kube-controller-manager",
            "kubelet",
            "etcd",
        ],
    }];
    certs.push(entry(
        "admin",
        "certificate for the cluster administrator",
        Subject::new(desc.admin_name.clone(), &["system:masters"]),
        client.clone(),
        Sans::default(),
        vec![],
    ));
    let controllers: Vec<&Node> = desc.controllers.iter().collect();
    let mut api_dns = vec![
        "kubernetes".to_string(),
        "kubernetes.default".into(),
        "kubernetes.default.svc".into(),
        format!("kubernetes.default.svc.{}", desc.dns_domain),
        "localhost".into(),
    ];
    let mut api_ips = vec![desc.service_ip()];
    api_ips.extend(ips(&controllers));
    match desc.api_server_address.parse::<IpAddr>() {
        Ok(ip) => api_ips.push(ip),
        Err(_) => api_dns.push(desc.api_server_address.to_ascii_lowercase()),
    }
    api_ips.push([127, 0, 0, 1].into());
    certs.push(entry(
        "kube-api-server",
        "certificate for serving the Kubernetes API (and its client certificate to etcd and kubelets)",
        Subject::cn("kubernetes"),
        both.clone(),
        Sans { dns: api_dns, ips: api_ips, ..Default::default() }.normalized(),
        vec!["kube-apiserver"],
    ));
    certs.push(entry(
        "service-accounts",
        "key pair for signing service account tokens",
        Subject::cn("service-accounts"),
        client.clone(),
        Sans::default(),
        vec!["kube-apiserver", "kube-controller-manager"],
    ));
    certs.push(entry(
        "kube-controller-manager",
        "certificate of the controller manager",
        Subject::new(
            "system:kube-controller-manager",
            &["system:kube-controller-manager"],
        ),
        client.clone(),
        Sans::default(),
        vec!["kube-controller-manager"],
    ));
    certs.push(entry(
        "kube-scheduler",
        "certificate of the scheduler",
        Subject::new("system:kube-scheduler", &["system:kube-scheduler"]),
        client.clone(),
        Sans::default(),
        vec!["kube-scheduler"],
    ));
    certs.push(entry(
        "kube-proxy",
        "certificate of kube-proxy",
        Subject::new("system:kube-proxy", &["system:node-proxier"]),
        client.clone(),
        Sans::default(),
        vec!["kube-proxy"],
    ));
    for c in &desc.controllers {
        let name = format!("etcd-{}", c.name);
        let mut ips_: Vec<IpAddr> = c.ips.iter().filter_map(|i| i.parse().ok()).collect();
        ips_.push([127, 0, 0, 1].into());
        let sans = Sans {
            dns: vec![c.name.clone(), "localhost".into()],
            ips: ips_,
            ..Default::default()
        }
        .normalized();
        certs.push(entry(
            &name,
            &format!(
                "certificate for serving etcd on {} and talking to its peers",
                c.name
            ),
            Subject::cn(c.name.clone()),
            both.clone(),
            sans,
            vec!["etcd"],
        ));
    }
    for w in &desc.workers {
        let sans = Sans {
            dns: vec![w.name.clone()],
            ips: w.ips.iter().filter_map(|i| i.parse().ok()).collect(),
            ..Default::default()
        }
        .normalized();
        certs.push(entry(
            &w.name,
            &format!("certificate of the kubelet on {}", w.name),
            Subject::new(format!("system:node:{}", w.name), &["system:nodes"]),
            both.clone(),
            sans,
            vec!["kubelet"],
        ));
    }

    let kubeconfig =
        |file: String, user: &str, entry: &str, server: String, used_by: Vec<&'static str>| {
            KubeconfigEntry {
                description: format!("kubeconfig embedding the {entry} certificate"),
                file,
                user: user.into(),
                cluster_name: desc.name.clone(),
                server,
                ca: "ca".into(),
                client: ClientCert::Entry(entry.into()),
                renewable: true,
                optional: false,
                used_by,
            }
        };
    let local = url("127.0.0.1", desc.api_server_port);
    let mut kubeconfigs = vec![
        kubeconfig(
            "admin.kubeconfig".into(),
            &desc.admin_name,
            "admin",
            desc.public_url(),
            vec![],
        ),
        kubeconfig(
            "kube-proxy.kubeconfig".into(),
            "system:kube-proxy",
            "kube-proxy",
            desc.public_url(),
            vec!["kube-proxy"],
        ),
        kubeconfig(
            "kube-controller-manager.kubeconfig".into(),
            "system:kube-controller-manager",
            "kube-controller-manager",
            local.clone(),
            vec!["kube-controller-manager"],
        ),
        kubeconfig(
            "kube-scheduler.kubeconfig".into(),
            "system:kube-scheduler",
            "kube-scheduler",
            local,
            vec!["kube-scheduler"],
        ),
    ];
    for w in &desc.workers {
        kubeconfigs.push(kubeconfig(
            format!("{}.kubeconfig", w.name),
            &format!("system:node:{}", w.name),
            &w.name,
            desc.public_url(),
            vec!["kubelet"],
        ));
    }
    Ok(Layout {
        profile: "hard-way",
        certs,
        kubeconfigs,
        service_account: None,
    })
}
