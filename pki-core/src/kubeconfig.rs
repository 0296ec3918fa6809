//! Kubeconfig files: building them with embedded credentials, reading the parts kpki checks.
//!
//! The value type is kube-rs' [`Kubeconfig`], so a provisioning tool can hand what kpki builds
//! straight to a `kube::Client`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
pub use kube_client::config::Kubeconfig;
use kube_client::config::{AuthInfo, Cluster, Context, NamedAuthInfo, NamedCluster, NamedContext};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::key::PrivateKey;

/// A kubeconfig with one cluster, one user and one context `<user>@<cluster>` (current), all
/// data embedded, as kubeadm writes them.
pub fn build(
    cluster_name: &str,
    server: &str,
    ca: &Certificate,
    user: &str,
    client_cert: &Certificate,
    client_key: &PrivateKey,
) -> Result<Kubeconfig> {
    single(
        cluster_name,
        server,
        Some(ca),
        user,
        Some(client_cert),
        client_key,
    )
}

/// The one-cluster, one-user, one-context shape of [`build`] and [`partial`].
fn single(
    cluster_name: &str,
    server: &str,
    ca: Option<&Certificate>,
    user: &str,
    client_cert: Option<&Certificate>,
    client_key: &PrivateKey,
) -> Result<Kubeconfig> {
    let context = format!("{user}@{cluster_name}");
    let key_pem = client_key.to_pem()?;
    Ok(Kubeconfig {
        api_version: Some("v1".into()),
        kind: Some("Config".into()),
        // kubectl and kubeadm write `preferences: {}`.
        preferences: Some(Default::default()),
        clusters: vec![NamedCluster {
            name: cluster_name.into(),
            cluster: Some(Cluster {
                server: Some(server.into()),
                certificate_authority_data: ca.map(|c| B64.encode(c.to_pem())),
                ..Default::default()
            }),
            ..Default::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: user.into(),
            auth_info: Some(AuthInfo {
                client_certificate_data: client_cert.map(|c| B64.encode(c.to_pem())),
                client_key_data: Some(B64.encode(key_pem.as_bytes()).into()),
                ..Default::default()
            }),
            ..Default::default()
        }],
        contexts: vec![NamedContext {
            name: context.clone(),
            context: Some(Context {
                cluster: cluster_name.into(),
                user: Some(user.into()),
                ..Default::default()
            }),
            ..Default::default()
        }],
        current_context: Some(context),
        extensions: None,
        other: Default::default(),
    })
}

/// Serialises a kubeconfig as YAML with keys sorted at every level, as kubectl and kubeadm
/// write them (Go marshals through JSON maps).
pub fn to_yaml(config: &Kubeconfig) -> Result<String> {
    let value = serde_json::to_value(config)
        .map_err(|e| Error::Crypto(format!("kubeconfig serialisation: {e}")))?;
    crate::yaml::to_string(&value)
}

/// Parses kubeconfig YAML.
pub fn from_yaml(text: &str) -> Result<Kubeconfig> {
    Kubeconfig::from_yaml(text).map_err(|e| {
        let msg = e.to_string();
        Error::invalid(
            "kubeconfig",
            format!(
                "not a valid kubeconfig: {}",
                msg.lines().next().unwrap_or("")
            ),
        )
    })
}

/// The parts of a kubeconfig's current context that kpki checks and renews.
#[derive(Clone, Debug)]
pub struct CurrentContext {
    /// The cluster entry's name.
    pub cluster_name: String,
    /// The user entry's name.
    pub user_name: String,
    /// The server URL.
    pub server: Option<String>,
    /// The embedded CA PEM (`certificate-authority-data`), decoded.
    pub ca_pem: Option<String>,
    /// The CA file (`certificate-authority`), when a path is used instead.
    pub ca_file: Option<String>,
    /// The embedded client certificate PEM, decoded.
    pub client_cert_pem: Option<String>,
    /// The client certificate file, when a path is used instead (kubelet.conf after rotation).
    pub client_cert_file: Option<String>,
    /// The embedded client key PEM, decoded.
    pub client_key_pem: Option<String>,
    /// The client key file, when a path is used instead.
    pub client_key_file: Option<String>,
}

fn decode(field: &str, data: &str) -> Result<String> {
    let bytes = B64
        .decode(data.trim())
        .map_err(|_| Error::invalid("kubeconfig", format!("{field} is not valid base64")))?;
    String::from_utf8(bytes)
        .map_err(|_| Error::invalid("kubeconfig", format!("{field} is not PEM text")))
}

/// Finds the current context and what it points at.
pub fn current_context(config: &Kubeconfig) -> Result<CurrentContext> {
    use secrecy::ExposeSecret;
    let (cluster_name, user_name) = current_context_names(config)?;
    let ctx = Context {
        cluster: cluster_name,
        user: Some(user_name),
        ..Default::default()
    };
    let cluster = config
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| {
            Error::invalid(
                "kubeconfig",
                format!("cluster {:?} is not defined", ctx.cluster),
            )
        })?;
    let user_name = ctx.user.clone().unwrap_or_default();
    let user = config
        .auth_infos
        .iter()
        .find(|u| u.name == user_name)
        .and_then(|u| u.auth_info.as_ref());
    Ok(CurrentContext {
        cluster_name: ctx.cluster.clone(),
        user_name: user_name.clone(),
        server: cluster.server.clone(),
        ca_pem: cluster
            .certificate_authority_data
            .as_deref()
            .map(|d| decode("certificate-authority-data", d))
            .transpose()?,
        ca_file: cluster.certificate_authority.clone(),
        client_cert_pem: user
            .and_then(|u| u.client_certificate_data.as_deref())
            .map(|d| decode("client-certificate-data", d))
            .transpose()?,
        client_cert_file: user.and_then(|u| u.client_certificate.clone()),
        client_key_pem: user
            .and_then(|u| u.client_key_data.as_ref())
            .map(|d| decode("client-key-data", d.expose_secret()))
            .transpose()?,
        client_key_file: user.and_then(|u| u.client_key.clone()),
    })
}

/// Compares two PEM texts the way kubeadm compares CA data: whitespace-trimmed bytes.
pub fn same_pem(a: &str, b: &str) -> bool {
    a.trim() == b.trim()
}

/// Adds `new`'s clusters, users and contexts to `existing`, replacing users and contexts of
/// the same name and keeping everything else. A cluster of the same name must be the same
/// cluster (server and CA), or other contexts would silently point elsewhere. The current
/// context is set only when `existing` has none.
pub fn merge(mut existing: Kubeconfig, new: Kubeconfig) -> Result<Kubeconfig> {
    for c in new.clusters {
        if let Some(old) = existing.clusters.iter().find(|e| e.name == c.name) {
            let (a, b) = (old.cluster.as_ref(), c.cluster.as_ref());
            let same = a.map(|x| (&x.server, &x.certificate_authority_data))
                == b.map(|x| (&x.server, &x.certificate_authority_data));
            if !same {
                return Err(Error::invalid(
                    "kubeconfig",
                    format!("already has a cluster {:?} with another server or CA; refusing to repoint its contexts", c.name),
                ));
            }
            continue;
        }
        existing.clusters.push(c);
    }
    for u in new.auth_infos {
        existing.auth_infos.retain(|e| e.name != u.name);
        existing.auth_infos.push(u);
    }
    for c in new.contexts {
        existing.contexts.retain(|e| e.name != c.name);
        existing.contexts.push(c);
    }
    if existing.current_context.as_deref().unwrap_or("").is_empty() {
        existing.current_context = new.current_context;
    }
    existing.api_version.get_or_insert_with(|| "v1".into());
    existing.kind.get_or_insert_with(|| "Config".into());
    Ok(existing)
}

/// A kubeconfig for the key of a client certificate still to be signed (external CA): the
/// cluster, the context and the key, no certificate (kubeadm's `certs generate-csr`).
pub fn partial(
    cluster_name: &str,
    server: &str,
    ca: Option<&Certificate>,
    user: &str,
    key: &PrivateKey,
) -> Result<Kubeconfig> {
    single(cluster_name, server, ca, user, None, key)
}

/// Puts `ca` in the current context's cluster (as embedded data) and `client_cert` — and
/// `client_key`, when given — in its user; everything else in the file is kept. Completing a
/// partial kubeconfig and renewing a kubeconfig's credentials are both this.
pub fn set_credentials(
    mut kc: Kubeconfig,
    ca: &Certificate,
    client_cert: &Certificate,
    client_key: Option<&PrivateKey>,
) -> Result<Kubeconfig> {
    let (cluster_name, user_name) = current_context_names(&kc)?;
    for c in kc.clusters.iter_mut().filter(|c| c.name == cluster_name) {
        if let Some(cluster) = c.cluster.as_mut() {
            cluster.certificate_authority_data = Some(B64.encode(ca.to_pem()));
            cluster.certificate_authority = None;
        }
    }
    let key_data = client_key
        .map(|k| k.to_pem())
        .transpose()?
        .map(|pem| B64.encode(pem.as_bytes()));
    for u in kc.auth_infos.iter_mut().filter(|u| u.name == user_name) {
        if let Some(user) = u.auth_info.as_mut() {
            user.client_certificate_data = Some(B64.encode(client_cert.to_pem()));
            user.client_certificate = None;
            if let Some(data) = &key_data {
                user.client_key_data = Some(data.clone().into());
                user.client_key = None;
            }
        }
    }
    Ok(kc)
}

fn current_context_names(config: &Kubeconfig) -> Result<(String, String)> {
    let name = config
        .current_context
        .as_deref()
        .ok_or_else(|| Error::invalid("kubeconfig", "has no current-context"))?;
    let ctx = config
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref())
        .ok_or_else(|| {
            Error::invalid(
                "kubeconfig",
                format!("current-context {name:?} is not defined"),
            )
        })?;
    Ok((ctx.cluster.clone(), ctx.user.clone().unwrap_or_default()))
}
