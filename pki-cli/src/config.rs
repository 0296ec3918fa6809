//! From flags and `--config` to a resolved `ClusterConfig`, with errors that name the flag
//! when a flag gave the value and the file when the file did.

use pki_core::config::{ClusterConfig, ConfigInput, HostFacts};
use pki_core::Error;

use crate::args::PkiArgs;
use crate::Failure;

/// Which flag sets which config field (for error messages).
const FLAG_FIELDS: &[(&str, &str)] = &[
    ("nodeRegistration.name", "--node-name"),
    (
        "localAPIEndpoint.advertiseAddress",
        "--apiserver-advertise-address",
    ),
    ("localAPIEndpoint.bindPort", "--apiserver-bind-port"),
    ("controlPlaneEndpoint", "--control-plane-endpoint"),
    ("networking.serviceSubnet", "--service-cidr"),
    ("networking.dnsDomain", "--service-dns-domain"),
    ("apiServer.certSANs", "--apiserver-cert-extra-sans"),
    ("encryptionAlgorithm", "--key-algorithm"),
    ("certificateValidityPeriod", "--cert-validity"),
    ("caCertificateValidityPeriod", "--ca-validity"),
];

fn flags(args: &PkiArgs) -> ConfigInput {
    ConfigInput {
        node_name: args.node_name.clone(),
        advertise_address: args.apiserver_advertise_address.clone(),
        bind_port: args.apiserver_bind_port,
        control_plane_endpoint: args.control_plane_endpoint.clone(),
        cert_dir: args.cert_dir.clone(),
        kubeconfig_dir: args.kubeconfig_dir.clone(),
        service_subnet: args.service_cidr.clone(),
        dns_domain: args.service_dns_domain.clone(),
        apiserver_cert_sans: args.apiserver_cert_extra_sans.clone(),
        key_algorithm: args.key_algorithm.clone(),
        cert_validity: args.cert_validity.clone(),
        ca_validity: args.ca_validity.clone(),
        ..Default::default()
    }
}

/// The config file and flags merged, without defaults or validation: for commands that work
/// from what is on disk (`check-expiration`, `renew`, `verify`).
pub fn input(args: &PkiArgs) -> Result<ConfigInput, Failure> {
    Ok(file_input(args)?.merge(flags(args)))
}

/// What `--config` says (nothing when it is not given).
fn file_input(args: &PkiArgs) -> Result<ConfigInput, Failure> {
    match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            Ok(ConfigInput::from_kubeadm_yaml(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => Ok(ConfigInput::default()),
    }
}

/// The two directories, from flags, the config file, or kubeadm's defaults.
pub fn dirs(input: &ConfigInput) -> pki_core::tree::Dirs {
    pki_core::tree::Dirs {
        cert_dir: input
            .cert_dir
            .clone()
            .unwrap_or_else(|| "/etc/kubernetes/pki".into()),
        kubeconfig_dir: input
            .kubeconfig_dir
            .clone()
            .unwrap_or_else(|| "/etc/kubernetes".into()),
    }
}

/// Parses a duration flag.
pub fn duration(text: &str, flag: &str) -> Result<std::time::Duration, Failure> {
    pki_core::duration::parse(text, flag).map_err(Failure::from)
}

/// Resolves the cluster configuration for a command.
pub fn resolve(args: &PkiArgs) -> Result<ClusterConfig, Failure> {
    let from_flags = flags(args);
    let from_file = file_input(args)?;
    let merged = from_file.clone().merge(from_flags.clone());
    merged.resolve(&HostFacts::detect()).map_err(|e| {
        let Error::Config { field, message } = &e else {
            return Failure::from(e);
        };
        let set_by_flag =
            FLAG_FIELDS
                .iter()
                .find(|(f, _)| field.starts_with(f))
                .filter(|(f, _)| {
                    // The flag gave this value when the flag-only input fails the same way.
                    from_flags.clone().resolve(&HostFacts::detect()).err().is_some_and(
                |fe| matches!(fe, Error::Config { field: ref ff, .. } if ff.starts_with(f)),
            )
                });
        match (set_by_flag, &args.config) {
            (Some((_, flag)), _) => Failure::from(format!("{flag} ({field}): {message}")),
            (None, Some(path)) => Failure::from(format!("{}: {field}: {message}", path.display())),
            (None, None) => Failure::from(e),
        }
    })
}

/// What a command works on: the layout, where its files are, the configuration's warnings,
/// the merged input (file and flags), and the resolved configuration when there is one.
pub struct Resolved {
    pub layout: pki_core::layout::Layout,
    pub dirs: pki_core::tree::Dirs,
    pub warnings: Vec<String>,
    pub input: ConfigInput,
    /// kubeadm, resolved with defaults and validation (when `full` or `--config`).
    pub config: Option<ClusterConfig>,
}

/// The layout a command works on, read once.
///
/// kubeadm: from `--config` and flags; commands that work from what is on disk (`full` false)
/// need no configuration unless `--config` is given (names and files do not depend on it).
/// hard-way: from `--cluster`; both directories default to the current one.
pub fn layout(args: &PkiArgs, full: bool) -> Result<Resolved, Failure> {
    use crate::args::Profile;
    let input = input(args)?;
    match args.profile {
        Profile::HardWay => {
            let path = args.cluster.as_ref().ok_or_else(|| {
                "--cluster: the hard-way profile needs a cluster description file".to_string()
            })?;
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let desc = pki_core::hardway::ClusterDescription::from_yaml(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let layout =
                pki_core::hardway::layout(&desc).map_err(|e| format!("{}: {e}", path.display()))?;
            let cert_dir = args.cert_dir.clone().unwrap_or_else(|| ".".into());
            let kubeconfig_dir = args
                .kubeconfig_dir
                .clone()
                .unwrap_or_else(|| cert_dir.clone());
            let dirs = pki_core::tree::Dirs {
                cert_dir,
                kubeconfig_dir,
            };
            Ok(Resolved {
                layout,
                dirs,
                warnings: Vec::new(),
                input,
                config: None,
            })
        }
        Profile::Kubeadm => {
            if args.cluster.is_some() {
                return Err("--cluster: only the hard-way profile takes a cluster description (pass --profile hard-way)".to_string().into());
            }
            let (config, resolved) = if full || args.config.is_some() {
                let c = resolve(args)?;
                (c.clone(), Some(c))
            } else {
                let mut c = ClusterConfig::for_localhost(pki_core::KeyAlgorithm::Rsa2048);
                let d = dirs(&input);
                c.cert_dir = d.cert_dir;
                c.kubeconfig_dir = d.kubeconfig_dir;
                (c, None)
            };
            Ok(Resolved {
                layout: pki_core::spec::kubeadm_layout(&config),
                dirs: pki_core::tree::Dirs::from(&config),
                warnings: config.warnings.clone(),
                input,
                config: resolved,
            })
        }
    }
}
