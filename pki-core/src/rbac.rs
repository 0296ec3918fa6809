//! RBAC bindings for a new identity (`--bind`): "new user jane with the developer role" in one
//! command.

use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::error::{Error, Result};

/// A binding manifest, either namespaced or cluster-wide.
#[derive(Clone, Debug)]
pub enum Binding {
    /// A RoleBinding.
    Role(RoleBinding),
    /// A ClusterRoleBinding.
    Cluster(ClusterRoleBinding),
}

/// Parses `--bind`: `ROLE[:NAMESPACE]` binds a Role in NAMESPACE (default `default`);
/// `clusterrole/NAME` binds a ClusterRole cluster-wide; `clusterrole/NAME:NAMESPACE` binds a
/// ClusterRole within one namespace. The subject is the user `user` (the certificate's CN).
pub fn binding(spec: &str, user: &str) -> Result<Binding> {
    let bad = || {
        Error::invalid(
            "--bind",
            format!("{spec:?}: expected ROLE[:NAMESPACE] or clusterrole/NAME[:NAMESPACE]"),
        )
    };
    let (role, namespace) = match spec.split_once(':') {
        Some((r, ns)) if !ns.is_empty() => (r, Some(ns)),
        Some(_) => return Err(bad()),
        None => (spec, None),
    };
    let (kind, name) = match role.strip_prefix("clusterrole/") {
        Some(n) => ("ClusterRole", n),
        None => ("Role", role),
    };
    if name.is_empty() || name.contains('/') {
        return Err(bad());
    }
    let subject = Subject {
        kind: "User".into(),
        name: user.into(),
        api_group: Some("rbac.authorization.k8s.io".into()),
        namespace: None,
    };
    let role_ref = RoleRef {
        api_group: "rbac.authorization.k8s.io".into(),
        kind: kind.into(),
        name: name.into(),
    };
    let binding_name = format!("{}-{}", user.replace(':', "-"), name);
    Ok(match (kind, namespace) {
        ("ClusterRole", None) => Binding::Cluster(ClusterRoleBinding {
            metadata: ObjectMeta {
                name: Some(binding_name),
                ..Default::default()
            },
            role_ref,
            subjects: Some(vec![subject]),
        }),
        (_, ns) => Binding::Role(RoleBinding {
            metadata: ObjectMeta {
                name: Some(binding_name),
                namespace: Some(ns.unwrap_or("default").into()),
                ..Default::default()
            },
            role_ref,
            subjects: Some(vec![subject]),
        }),
    })
}

/// YAML for `kubectl apply -f`.
pub fn to_yaml(binding: &Binding) -> Result<String> {
    let value = match binding {
        Binding::Role(b) => serde_json::to_value(b),
        Binding::Cluster(b) => serde_json::to_value(b),
    }
    .map_err(|e| Error::Crypto(format!("binding: {e}")))?;
    crate::yaml::to_string(&value)
}
