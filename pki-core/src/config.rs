//! Cluster configuration: kubeadm's config file, command-line overrides, defaults and
//! validation, and the subject alternative names and endpoints computed from them.
//!
//! Configuration arrives as [`ConfigInput`] (every field optional) from a kubeadm config file
//! ([`ConfigInput::from_kubeadm_yaml`]) and from flags; [`ConfigInput::merge`] lets the flags
//! win; [`ConfigInput::resolve`] applies kubeadm's defaults and validation and yields a
//! [`ClusterConfig`].

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::cert::Sans;
use crate::duration;
use crate::error::{Error, Result};
use crate::key::KeyAlgorithm;

/// Configuration values as given, before defaults: every field optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigInput {
    /// `nodeRegistration.name`.
    pub node_name: Option<String>,
    /// `localAPIEndpoint.advertiseAddress` (validated at resolve time).
    pub advertise_address: Option<String>,
    /// `localAPIEndpoint.bindPort`.
    pub bind_port: Option<u16>,
    /// `controlPlaneEndpoint`, `HOST[:PORT]`.
    pub control_plane_endpoint: Option<String>,
    /// `clusterName`.
    pub cluster_name: Option<String>,
    /// `certificatesDir`.
    pub cert_dir: Option<PathBuf>,
    /// Where kubeconfig files go (not a kubeadm config field; `/etc/kubernetes` there).
    pub kubeconfig_dir: Option<PathBuf>,
    /// `networking.serviceSubnet` (one CIDR or a comma list).
    pub service_subnet: Option<String>,
    /// `networking.dnsDomain`.
    pub dns_domain: Option<String>,
    /// `apiServer.certSANs`.
    pub apiserver_cert_sans: Option<Vec<String>>,
    /// `etcd.local.serverCertSANs`.
    pub etcd_server_cert_sans: Option<Vec<String>>,
    /// `etcd.local.peerCertSANs`.
    pub etcd_peer_cert_sans: Option<Vec<String>>,
    /// `etcd.external` is set: no etcd certificates are made.
    pub external_etcd: Option<bool>,
    /// `encryptionAlgorithm`.
    pub key_algorithm: Option<String>,
    /// `certificateValidityPeriod`.
    pub cert_validity: Option<String>,
    /// `caCertificateValidityPeriod`.
    pub ca_validity: Option<String>,
}

/// Facts about the host that defaults come from, injectable for tests.
#[derive(Clone, Debug)]
pub struct HostFacts {
    /// The host name (kubeadm's default node name).
    pub hostname: String,
    /// The first non-loopback IPv4 address, if any (the default advertise address).
    pub default_ipv4: Option<Ipv4Addr>,
}

impl HostFacts {
    /// Reads the host name and the first non-loopback IPv4 address of this machine.
    pub fn detect() -> HostFacts {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .unwrap_or_default()
            .trim()
            .to_string();
        HostFacts {
            hostname,
            default_ipv4: first_local_ipv4(),
        }
    }
}

/// The first local, non-loopback IPv4 address from the kernel's routing tables.
fn first_local_ipv4() -> Option<Ipv4Addr> {
    let trie = std::fs::read_to_string("/proc/net/fib_trie").ok()?;
    let lines: Vec<&str> = trie.lines().collect();
    lines.windows(2).find_map(|w| {
        let addr = w[0].trim().strip_prefix("|-- ")?.parse::<Ipv4Addr>().ok()?;
        (w[1].contains("/32 host LOCAL") && !addr.is_loopback()).then_some(addr)
    })
}

// --- the kubeadm config file --------------------------------------------------------------

const KUBEADM_GROUP: &str = "kubeadm.k8s.io/";
const KNOWN_VERSIONS: [&str; 3] = ["v1beta2", "v1beta3", "v1beta4"];

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct InitConfiguration {
    #[serde(rename = "localAPIEndpoint")]
    local_api_endpoint: Option<ApiEndpoint>,
    node_registration: Option<NodeRegistration>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ApiEndpoint {
    advertise_address: Option<String>,
    bind_port: Option<u16>,
}

#[derive(Deserialize, Default)]
struct NodeRegistration {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ClusterConfiguration {
    cluster_name: Option<String>,
    control_plane_endpoint: Option<String>,
    certificates_dir: Option<PathBuf>,
    networking: Option<Networking>,
    api_server: Option<ApiServer>,
    etcd: Option<Etcd>,
    encryption_algorithm: Option<String>,
    certificate_validity_period: Option<String>,
    ca_certificate_validity_period: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Networking {
    service_subnet: Option<String>,
    dns_domain: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ApiServer {
    #[serde(rename = "certSANs")]
    cert_sans: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
struct Etcd {
    local: Option<LocalEtcd>,
    external: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct LocalEtcd {
    #[serde(rename = "serverCertSANs")]
    server_cert_sans: Option<Vec<String>>,
    #[serde(rename = "peerCertSANs")]
    peer_cert_sans: Option<Vec<String>>,
}

fn typed<T: for<'de> Deserialize<'de>>(value: serde_json::Value, kind: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        Error::config(format!("{kind}.{path}"), e.into_inner().to_string())
    })
}

impl ConfigInput {
    /// Reads a kubeadm config file's text: multi-document YAML with `InitConfiguration` and
    /// `ClusterConfiguration` of `kubeadm.k8s.io/v1beta2`, `v1beta3` or `v1beta4`. Other kinds
    /// and unknown fields are ignored; a document without `kind`, or of kubeadm's group with an
    /// unknown version, is an error.
    pub fn from_kubeadm_yaml(text: &str) -> Result<ConfigInput> {
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(text).map_err(|e| {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid YAML").to_string();
            Error::config("config", format!("malformed YAML: {first}"))
        })?;
        let mut input = ConfigInput::default();
        for (index, doc) in docs.into_iter().enumerate() {
            if doc.is_null() {
                continue;
            }
            let Some(map) = doc.as_object() else {
                return Err(Error::config(
                    format!("document {}", index + 1),
                    "expected a mapping with apiVersion and kind",
                ));
            };
            let kind = map
                .get("kind")
                .and_then(|k| k.as_str())
                .map(str::to_string)
                .ok_or_else(|| Error::config(format!("document {}", index + 1), "has no kind"))?;
            let kind = kind.as_str();
            let api_version = map
                .get("apiVersion")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            let Some(version) = api_version.as_str().strip_prefix(KUBEADM_GROUP) else {
                continue; // KubeletConfiguration, KubeProxyConfiguration, …
            };
            if !KNOWN_VERSIONS.contains(&version) {
                return Err(Error::config(
                    format!("{kind}.apiVersion"),
                    format!(
                        "unknown kubeadm API version {api_version:?}; expected kubeadm.k8s.io/v1beta2, v1beta3 or v1beta4"
                    ),
                ));
            }
            match kind {
                "InitConfiguration" => input.apply_init(typed(doc, kind)?),
                "ClusterConfiguration" => input.apply_cluster(typed(doc, kind)?),
                _ => {} // JoinConfiguration, ResetConfiguration, UpgradeConfiguration…
            }
        }
        Ok(input)
    }

    fn apply_init(&mut self, init: InitConfiguration) {
        if let Some(ep) = init.local_api_endpoint {
            self.advertise_address = ep.advertise_address.or(self.advertise_address.take());
            self.bind_port = ep.bind_port.or(self.bind_port);
        }
        if let Some(name) = init.node_registration.and_then(|n| n.name) {
            self.node_name = Some(name);
        }
    }

    fn apply_cluster(&mut self, c: ClusterConfiguration) {
        fn set<T>(slot: &mut Option<T>, value: Option<T>) {
            if value.is_some() {
                *slot = value;
            }
        }
        set(&mut self.cluster_name, c.cluster_name);
        set(
            &mut self.control_plane_endpoint,
            c.control_plane_endpoint.filter(|s| !s.is_empty()),
        );
        set(&mut self.cert_dir, c.certificates_dir);
        if let Some(n) = c.networking {
            set(&mut self.service_subnet, n.service_subnet);
            set(&mut self.dns_domain, n.dns_domain);
        }
        if let Some(a) = c.api_server {
            set(&mut self.apiserver_cert_sans, a.cert_sans);
        }
        if let Some(e) = c.etcd {
            if e.external.as_ref().is_some_and(|v| !v.is_null()) {
                self.external_etcd = Some(true);
            }
            if let Some(l) = e.local {
                set(&mut self.etcd_server_cert_sans, l.server_cert_sans);
                set(&mut self.etcd_peer_cert_sans, l.peer_cert_sans);
            }
        }
        set(&mut self.key_algorithm, c.encryption_algorithm);
        set(&mut self.cert_validity, c.certificate_validity_period);
        set(&mut self.ca_validity, c.ca_certificate_validity_period);
    }

    /// Overlays `over` (e.g. command-line flags) on `self` (e.g. the config file): every field
    /// `over` sets wins.
    pub fn merge(self, over: ConfigInput) -> ConfigInput {
        ConfigInput {
            node_name: over.node_name.or(self.node_name),
            advertise_address: over.advertise_address.or(self.advertise_address),
            bind_port: over.bind_port.or(self.bind_port),
            control_plane_endpoint: over.control_plane_endpoint.or(self.control_plane_endpoint),
            cluster_name: over.cluster_name.or(self.cluster_name),
            cert_dir: over.cert_dir.or(self.cert_dir),
            kubeconfig_dir: over.kubeconfig_dir.or(self.kubeconfig_dir),
            service_subnet: over.service_subnet.or(self.service_subnet),
            dns_domain: over.dns_domain.or(self.dns_domain),
            apiserver_cert_sans: over.apiserver_cert_sans.or(self.apiserver_cert_sans),
            etcd_server_cert_sans: over.etcd_server_cert_sans.or(self.etcd_server_cert_sans),
            etcd_peer_cert_sans: over.etcd_peer_cert_sans.or(self.etcd_peer_cert_sans),
            external_etcd: over.external_etcd.or(self.external_etcd),
            key_algorithm: over.key_algorithm.or(self.key_algorithm),
            cert_validity: over.cert_validity.or(self.cert_validity),
            ca_validity: over.ca_validity.or(self.ca_validity),
        }
    }

    /// Applies kubeadm's defaults and validation.
    pub fn resolve(self, host: &HostFacts) -> Result<ClusterConfig> {
        let mut warnings = Vec::new();

        let node_name = self
            .node_name
            .unwrap_or_else(|| host.hostname.clone())
            .trim()
            .to_ascii_lowercase();
        if node_name.is_empty() {
            return Err(Error::config(
                "nodeRegistration.name",
                "not set and the host name is unknown; pass --node-name",
            ));
        }
        if !is_dns1123_subdomain(&node_name) {
            return Err(Error::config(
                "nodeRegistration.name",
                format!("{node_name:?} is not a valid DNS-1123 subdomain"),
            ));
        }

        let advertise_address = match self.advertise_address.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => {
                let ip: IpAddr = text.parse().map_err(|_| {
                    Error::config(
                        "localAPIEndpoint.advertiseAddress",
                        format!("{text:?} is not an IP address"),
                    )
                })?;
                if ip.is_unspecified() {
                    return Err(Error::config(
                        "localAPIEndpoint.advertiseAddress",
                        format!("{ip} is not a usable address"),
                    ));
                }
                if ip.is_loopback() {
                    warnings.push(format!(
                        "the API server advertise address {ip} is a loopback address: only clients on this host can reach it (kubeadm refuses it)"
                    ));
                }
                ip
            }
            _ => IpAddr::V4(host.default_ipv4.ok_or_else(|| {
                Error::config(
                    "localAPIEndpoint.advertiseAddress",
                    "not set and no non-loopback IPv4 address found on this host; pass --apiserver-advertise-address",
                )
            })?),
        };

        let bind_port = self.bind_port.unwrap_or(6443);
        if bind_port == 0 {
            return Err(Error::config(
                "localAPIEndpoint.bindPort",
                "must be between 1 and 65535",
            ));
        }

        let control_plane_endpoint = match self.control_plane_endpoint.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => Some(Endpoint::parse(text)?),
            _ => None,
        };
        if let Some(Endpoint { port: Some(p), .. }) = &control_plane_endpoint {
            if *p != bind_port {
                warnings.push(format!(
                    "the control-plane endpoint's port {p} differs from the API server bind port {bind_port}"
                ));
            }
        }

        let cluster_name = self.cluster_name.unwrap_or_else(|| "kubernetes".into());
        if cluster_name.trim().is_empty() {
            return Err(Error::config("clusterName", "must not be empty"));
        }

        let service_subnet = self.service_subnet.unwrap_or_else(|| "10.96.0.0/12".into());
        let service_ip = first_service_ip(&service_subnet)?;

        let dns_domain = self.dns_domain.unwrap_or_else(|| "cluster.local".into());
        if !is_dns1123_subdomain(&dns_domain) {
            return Err(Error::config(
                "networking.dnsDomain",
                format!("{dns_domain:?} is not a valid DNS-1123 subdomain"),
            ));
        }

        // kubeadm lowercases apiServer.certSANs (only those) when it loads the config.
        let apiserver_cert_sans: Vec<String> = self
            .apiserver_cert_sans
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        validate_sans(&apiserver_cert_sans, "apiServer.certSANs")?;
        let etcd_server_cert_sans = self.etcd_server_cert_sans.unwrap_or_default();
        validate_sans(&etcd_server_cert_sans, "etcd.local.serverCertSANs")?;
        let etcd_peer_cert_sans = self.etcd_peer_cert_sans.unwrap_or_default();
        validate_sans(&etcd_peer_cert_sans, "etcd.local.peerCertSANs")?;

        let key_algorithm = match self.key_algorithm {
            Some(text) => text.parse::<KeyAlgorithm>().map_err(|e| {
                Error::config(
                    "encryptionAlgorithm",
                    e.to_string().replace("key algorithm: ", ""),
                )
            })?,
            None => KeyAlgorithm::Rsa2048,
        };
        let sa_key_algorithm = if key_algorithm.usable_for_service_accounts() {
            key_algorithm
        } else {
            warnings.push(format!(
                "kube-apiserver accepts only RSA and ECDSA service-account keys: sa.key is {} while the certificates use {key_algorithm}",
                KeyAlgorithm::EcdsaP256
            ));
            KeyAlgorithm::EcdsaP256
        };

        let period = |text: Option<String>, field: &str, default_hours: u64| -> Result<Duration> {
            match text {
                None => Ok(Duration::from_secs(default_hours * 3600)),
                Some(t) => {
                    let d = duration::parse(&t, field).map_err(|e| {
                        Error::config(field, e.to_string().replace(&format!("{field}: "), ""))
                    })?;
                    if d < Duration::from_secs(60) {
                        return Err(Error::config(
                            field,
                            format!("{t:?} is too short; expected at least 1m"),
                        ));
                    }
                    Ok(d)
                }
            }
        };
        let cert_validity = period(self.cert_validity, "certificateValidityPeriod", 8760)?;
        let ca_validity = period(self.ca_validity, "caCertificateValidityPeriod", 87600)?;
        if cert_validity > ca_validity {
            warnings.push(format!(
                "certificateValidityPeriod ({}) is longer than caCertificateValidityPeriod ({}): leaves would outlive their CA",
                duration::format_go(cert_validity),
                duration::format_go(ca_validity)
            ));
        }

        Ok(ClusterConfig {
            node_name,
            advertise_address,
            bind_port,
            control_plane_endpoint,
            cluster_name,
            cert_dir: self
                .cert_dir
                .unwrap_or_else(|| PathBuf::from("/etc/kubernetes/pki")),
            kubeconfig_dir: self
                .kubeconfig_dir
                .unwrap_or_else(|| PathBuf::from("/etc/kubernetes")),
            service_subnet,
            service_ip,
            dns_domain,
            apiserver_cert_sans,
            etcd_server_cert_sans,
            etcd_peer_cert_sans,
            external_etcd: self.external_etcd.unwrap_or(false),
            key_algorithm,
            sa_key_algorithm,
            cert_validity,
            ca_validity,
            warnings,
        })
    }
}

/// A host and optional port, as in `controlPlaneEndpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// A DNS name or an IP address (IPv6 without brackets).
    pub host: String,
    /// The port, when given.
    pub port: Option<u16>,
}

impl Endpoint {
    /// Parses `HOST`, `HOST:PORT`, `[V6]`, `[V6]:PORT` or a bare IPv6 address.
    pub fn parse(text: &str) -> Result<Endpoint> {
        let field = "controlPlaneEndpoint";
        let bad =
            |why: &str| Error::config(field, format!("{text:?} {why}; expected HOST or HOST:PORT"));
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (h, after) = rest
                .split_once(']')
                .ok_or_else(|| bad("has an unclosed '['"))?;
            match after {
                "" => (h.to_string(), None),
                p => (
                    h.to_string(),
                    Some(p.strip_prefix(':').ok_or_else(|| bad("is malformed"))?),
                ),
            }
        } else if text.parse::<IpAddr>().is_ok() {
            (text.to_string(), None)
        } else {
            match text.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (text.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("has an invalid port"))?,
            ),
            None => None,
        };
        if host.parse::<IpAddr>().is_err() && !is_dns1123_subdomain(&host.to_ascii_lowercase()) {
            return Err(bad("is neither an IP address nor a DNS name"));
        }
        Ok(Endpoint { host, port })
    }

    /// The host as an IP, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// A resolved, validated cluster configuration: everything certificates are computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterConfig {
    /// The node name (lowercase).
    pub node_name: String,
    /// The API server's advertise address.
    pub advertise_address: IpAddr,
    /// The API server's port.
    pub bind_port: u16,
    /// The control-plane endpoint, when set.
    pub control_plane_endpoint: Option<Endpoint>,
    /// The cluster name (kubeconfig cluster entry).
    pub cluster_name: String,
    /// Where certificates and keys live.
    pub cert_dir: PathBuf,
    /// Where kubeconfig files live.
    pub kubeconfig_dir: PathBuf,
    /// The service subnet as given.
    pub service_subnet: String,
    /// The `kubernetes` service IP: the first usable address of the (first) service subnet.
    pub service_ip: IpAddr,
    /// The cluster DNS domain.
    pub dns_domain: String,
    /// Extra API server SANs (lowercased).
    pub apiserver_cert_sans: Vec<String>,
    /// Extra etcd server SANs.
    pub etcd_server_cert_sans: Vec<String>,
    /// Extra etcd peer SANs.
    pub etcd_peer_cert_sans: Vec<String>,
    /// Whether etcd is external (no etcd certificates are made).
    pub external_etcd: bool,
    /// The algorithm of new keys.
    pub key_algorithm: KeyAlgorithm,
    /// The algorithm of a new `sa.key` (ECDSA-P256 when `key_algorithm` is Ed25519).
    pub sa_key_algorithm: KeyAlgorithm,
    /// Leaf validity.
    pub cert_validity: Duration,
    /// CA validity.
    pub ca_validity: Duration,
    /// Things worth telling the user that are not errors.
    pub warnings: Vec<String>,
}

impl ClusterConfig {
    /// Defaults for a local test cluster: node `node`, advertise address 127.0.0.1 — handy in
    /// examples and tests. Real clusters should come from [`ConfigInput::resolve`].
    pub fn for_localhost(key_algorithm: KeyAlgorithm) -> ClusterConfig {
        let input = ConfigInput {
            node_name: Some("node".into()),
            advertise_address: Some("127.0.0.1".into()),
            key_algorithm: Some(key_algorithm.name().into()),
            ..Default::default()
        };
        let host = HostFacts {
            hostname: "node".into(),
            default_ipv4: None,
        };
        let mut config = input.resolve(&host).expect("static defaults are valid");
        config.warnings.retain(|w| !w.contains("loopback"));
        config
    }

    /// The API server's serving SANs (reference §1.3), normalised.
    pub fn apiserver_sans(&self) -> Sans {
        let mut dns = vec![
            self.node_name.clone(),
            "kubernetes".into(),
            "kubernetes.default".into(),
            "kubernetes.default.svc".into(),
            format!("kubernetes.default.svc.{}", self.dns_domain),
        ];
        let mut ips = vec![self.service_ip, self.advertise_address];
        if let Some(ep) = &self.control_plane_endpoint {
            match ep.ip() {
                Some(ip) => ips.push(ip),
                None => dns.push(ep.host.to_ascii_lowercase()),
            }
        }
        split_sans(&self.apiserver_cert_sans, &mut dns, &mut ips);
        Sans {
            dns,
            ips,
            ..Default::default()
        }
        .normalized()
    }

    /// etcd's serving SANs.
    pub fn etcd_server_sans(&self) -> Sans {
        self.etcd_sans(&self.etcd_server_cert_sans)
    }

    /// etcd's peer SANs.
    pub fn etcd_peer_sans(&self) -> Sans {
        self.etcd_sans(&self.etcd_peer_cert_sans)
    }

    fn etcd_sans(&self, extra: &[String]) -> Sans {
        let mut dns = vec![self.node_name.clone(), "localhost".into()];
        let mut ips = vec![
            self.advertise_address,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ];
        split_sans(extra, &mut dns, &mut ips);
        Sans {
            dns,
            ips,
            ..Default::default()
        }
        .normalized()
    }

    /// `https://<advertiseAddress>:<bindPort>`: the server of controller-manager.conf and
    /// scheduler.conf.
    pub fn local_endpoint_url(&self) -> String {
        url(&self.advertise_address.to_string(), self.bind_port)
    }

    /// The control-plane endpoint URL (admin.conf, super-admin.conf, kubelet.conf): the
    /// control-plane endpoint with its port (or the bind port), else the local endpoint.
    pub fn control_plane_url(&self) -> String {
        match &self.control_plane_endpoint {
            Some(ep) => url(&ep.host, ep.port.unwrap_or(self.bind_port)),
            None => self.local_endpoint_url(),
        }
    }
}

fn url(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("https://[{host}]:{port}")
    } else {
        format!("https://{host}:{port}")
    }
}

fn split_sans(entries: &[String], dns: &mut Vec<String>, ips: &mut Vec<IpAddr>) {
    for entry in entries {
        match entry.parse::<IpAddr>() {
            Ok(ip) => ips.push(ip),
            Err(_) => dns.push(entry.clone()),
        }
    }
}

fn validate_sans(entries: &[String], field: &str) -> Result<()> {
    for (i, entry) in entries.iter().enumerate() {
        if entry.parse::<IpAddr>().is_ok() || is_dns1123_subdomain(entry) || is_wildcard(entry) {
            continue;
        }
        return Err(Error::config(
            format!("{field}[{i}]"),
            format!("{entry:?} is neither an IP address, a DNS-1123 subdomain nor a *. wildcard"),
        ));
    }
    Ok(())
}

fn is_wildcard(s: &str) -> bool {
    s.strip_prefix("*.").is_some_and(is_dns1123_subdomain)
}

/// Kubernetes' `IsDNS1123Subdomain`: lowercase alphanumerics, '-' and '.', labels starting and
/// ending with an alphanumeric, at most 253 characters.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

/// The `kubernetes` service IP: network address + 1 of the first CIDR of a comma list.
fn first_service_ip(subnets: &str) -> Result<IpAddr> {
    let field = "networking.serviceSubnet";
    let first = subnets.split(',').next().unwrap_or("").trim();
    let bad = || {
        Error::config(
            field,
            format!("{first:?} is not a CIDR such as 10.96.0.0/12"),
        )
    };
    let (addr, len) = first.split_once('/').ok_or_else(bad)?;
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let len: u32 = len.parse().map_err(|_| bad())?;
    match addr {
        IpAddr::V4(v4) => {
            if len > 30 {
                return Err(Error::config(
                    field,
                    format!("{first:?} is too small to hold a service IP"),
                ));
            }
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            Ok(IpAddr::V4(Ipv4Addr::from((u32::from(v4) & mask) + 1)))
        }
        IpAddr::V6(v6) => {
            if len > 126 {
                return Err(Error::config(
                    field,
                    format!("{first:?} is too small to hold a service IP"),
                ));
            }
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            Ok(IpAddr::V6(std::net::Ipv6Addr::from(
                (u128::from(v6) & mask) + 1,
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostFacts {
        HostFacts {
            hostname: "My-Host".into(),
            default_ipv4: Some(Ipv4Addr::new(192, 0, 2, 7)),
        }
    }

    const FIXTURE: &str = r#"
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.10
nodeRegistration:
  name: cp-node-1
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
someFutureField: 1
encryptionAlgorithm: ECDSA-P256
certificateValidityPeriod: 720h
apiServer:
  certSANs: ["127.0.0.1", "api.example.test", "*.apps.example.test", "10.0.0.100", "kubernetes", "API.Example.Test"]
etcd:
  local:
    serverCertSANs: [etcd.example.test, 10.0.0.20]
"#;

    #[test]
    fn kubeadm_sans_are_sorted_deduped_and_lowercased() {
        let c = ConfigInput::from_kubeadm_yaml(FIXTURE)
            .unwrap()
            .resolve(&host())
            .unwrap();
        assert_eq!(c.key_algorithm, KeyAlgorithm::EcdsaP256);
        assert_eq!(c.cert_validity, Duration::from_secs(720 * 3600));
        let sans = c.apiserver_sans();
        assert_eq!(
            sans.dns,
            [
                "*.apps.example.test",
                "api.example.test",
                "cp-node-1",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local"
            ]
        );
        let ips: Vec<String> = sans.ips.iter().map(|i| i.to_string()).collect();
        assert_eq!(ips, ["10.96.0.1", "10.0.0.10", "127.0.0.1", "10.0.0.100"]);
        let etcd: Vec<String> = c
            .etcd_server_sans()
            .ips
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(etcd, ["10.0.0.10", "127.0.0.1", "::1", "10.0.0.20"]);
        assert_eq!(c.local_endpoint_url(), "https://10.0.0.10:6443");
    }

    #[test]
    fn defaults_come_from_the_host_and_flags_override_the_file() {
        let c = ConfigInput::default().resolve(&host()).unwrap();
        assert_eq!(c.node_name, "my-host");
        assert_eq!(c.advertise_address.to_string(), "192.0.2.7");
        assert_eq!(c.service_ip.to_string(), "10.96.0.1");
        let file = ConfigInput::from_kubeadm_yaml(FIXTURE).unwrap();
        let flags = ConfigInput {
            node_name: Some("other".into()),
            ..Default::default()
        };
        assert_eq!(
            file.merge(flags).resolve(&host()).unwrap().node_name,
            "other"
        );
    }

    #[test]
    fn control_plane_endpoint_rules() {
        let mut input = ConfigInput {
            control_plane_endpoint: Some("LB.example.test:443".into()),
            ..Default::default()
        };
        let c = input.clone().resolve(&host()).unwrap();
        assert_eq!(c.control_plane_url(), "https://LB.example.test:443");
        assert!(c
            .apiserver_sans()
            .dns
            .contains(&"lb.example.test".to_string()));
        assert!(c.warnings.iter().any(|w| w.contains("443")));
        input.control_plane_endpoint = Some("[fd00::1]".into());
        let c = input.resolve(&host()).unwrap();
        assert_eq!(c.control_plane_url(), "https://[fd00::1]:6443");
        assert!(c.apiserver_sans().ips.contains(&"fd00::1".parse().unwrap()));
    }

    #[test]
    fn each_invalid_value_names_its_field() {
        let cases: [(ConfigInput, &str); 7] = [
            (
                ConfigInput {
                    apiserver_cert_sans: Some(vec!["ok.test".into(), "bad_name!".into()]),
                    ..Default::default()
                },
                "apiServer.certSANs[1]:",
            ),
            (
                ConfigInput {
                    etcd_peer_cert_sans: Some(vec!["UPPER.test".into()]),
                    ..Default::default()
                },
                "etcd.local.peerCertSANs[0]:",
            ),
            (
                ConfigInput {
                    advertise_address: Some("10.0.0.300".into()),
                    ..Default::default()
                },
                "localAPIEndpoint.advertiseAddress:",
            ),
            (
                ConfigInput {
                    service_subnet: Some("10.96.0.0".into()),
                    ..Default::default()
                },
                "networking.serviceSubnet:",
            ),
            (
                ConfigInput {
                    key_algorithm: Some("DSA".into()),
                    ..Default::default()
                },
                "encryptionAlgorithm:",
            ),
            (
                ConfigInput {
                    cert_validity: Some("forever".into()),
                    ..Default::default()
                },
                "certificateValidityPeriod:",
            ),
            (
                ConfigInput {
                    control_plane_endpoint: Some("lb:99999".into()),
                    ..Default::default()
                },
                "controlPlaneEndpoint:",
            ),
        ];
        for (input, prefix) in cases {
            let err = input.resolve(&host()).unwrap_err().to_string();
            assert!(err.starts_with(prefix), "{prefix} → {err}");
        }
    }

    #[test]
    fn bad_documents_are_refused() {
        let err = ConfigInput::from_kubeadm_yaml(
            "apiVersion: kubeadm.k8s.io/v1beta9\nkind: ClusterConfiguration\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("v1beta9"), "{err}");
        let err =
            ConfigInput::from_kubeadm_yaml("apiVersion: kubeadm.k8s.io/v1beta4\n").unwrap_err();
        assert!(err.to_string().contains("has no kind"), "{err}");
        let err = ConfigInput::from_kubeadm_yaml("kind: [unclosed\n").unwrap_err();
        assert!(
            err.to_string().starts_with("config: malformed YAML"),
            "{err}"
        );
        let err = ConfigInput::from_kubeadm_yaml("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  certSANs: 5\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ClusterConfiguration.apiServer.certSANs"),
            "{err}"
        );
    }

    #[test]
    fn ed25519_keeps_an_ecdsa_service_account_key_and_says_so() {
        let c = ConfigInput {
            key_algorithm: Some("ed25519".into()),
            ..Default::default()
        }
        .resolve(&host())
        .unwrap();
        assert_eq!(c.sa_key_algorithm, KeyAlgorithm::EcdsaP256);
        assert!(c.warnings.iter().any(|w| w.contains("service-account")));
    }
}
