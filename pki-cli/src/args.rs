//! The command line, as shared/CLI.md fixes it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kpki — a Kubernetes PKI toolkit: CAs, component certificates, service-account keys and
/// kubeconfigs in kubeadm's layout.
#[derive(Parser, Debug)]
#[command(name = "kpki", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Make every certificate, key and kubeconfig of a control plane (`certs init` then
    /// `kubeconfig init`); existing valid files are kept.
    Init(PkiArgs),
    /// Certificates and keys.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Kubeconfig files.
    #[command(subcommand)]
    Kubeconfig(KubeconfigCommand),
    /// What a certificate, chain, CSR (PEM or Kubernetes manifest), key or kubeconfig holds.
    Inspect {
        /// Files to inspect.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(short = 'o', long, value_enum, default_value = "text")]
        output: OutputFormat,
    },
    /// Check the whole tree: chains, usages, key pairs, SANs, CA separation, kubeconfigs,
    /// service-account keys, expiry and key file modes. Exit 0 good, 3 something expires
    /// within --warn-within, 4 something is broken.
    Verify {
        #[command(flatten)]
        window: WarnWindow,
        #[command(flatten)]
        pki: PkiArgs,
    },
    /// Print shell completions.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
pub enum CertsCommand {
    /// Make the certificates and keys of the kubeadm layout (all, or the named ones:
    /// ca, apiserver, apiserver-kubelet-client, front-proxy-ca, front-proxy-client, etcd-ca,
    /// etcd-server, etcd-peer, etcd-healthcheck-client, apiserver-etcd-client, sa).
    Init {
        /// Certificate names; none means all.
        names: Vec<String>,
        #[command(flatten)]
        pki: PkiArgs,
    },
    /// Show the plan — each certificate's file, CA, subject, usages, SANs and validity —
    /// without writing anything.
    List(PkiArgs),
    /// When every certificate expires, as kubeadm shows it. Exit 0 good, 3 something expires
    /// within --warn-within, 4 something is expired, missing or unreadable.
    CheckExpiration {
        #[command(flatten)]
        window: WarnWindow,
        #[command(flatten)]
        pki: PkiArgs,
    },
    /// Re-issue certificates keeping their subject, SANs and usages (all, or the named
    /// certificates and kubeconfigs). Safe for cron: locked, backed up, crash-safe.
    Renew {
        /// `all`, or names: apiserver, apiserver-kubelet-client, front-proxy-client,
        /// etcd-server, etcd-peer, etcd-healthcheck-client, apiserver-etcd-client, admin.conf,
        /// super-admin.conf, controller-manager.conf, scheduler.conf.
        #[arg(required = true)]
        names: Vec<String>,
        /// Keep the existing keys instead of generating new ones.
        #[arg(long)]
        reuse_key: bool,
        /// Renew only what expires within DURATION (e.g. 30d); nothing due → exit 0, no writes.
        #[arg(long, value_name = "DURATION")]
        if_expiring_within: Option<String>,
        /// Where to keep the replaced files [default: a timestamped kpki-backup-* folder beside
        /// the cert dir].
        #[arg(long, value_name = "DIR")]
        backup_dir: Option<PathBuf>,
        /// Do not keep the replaced files.
        #[arg(long, conflicts_with = "backup_dir")]
        no_backup: bool,
        /// How long to wait for another kpki run holding the tree's lock.
        #[arg(long, value_name = "DURATION", default_value = "60s")]
        lock_timeout: String,
        #[command(flatten)]
        pki: PkiArgs,
    },
}

/// The warning window of reports.
#[derive(Args, Debug, Clone)]
pub struct WarnWindow {
    /// Report (exit 3) what expires within DURATION.
    #[arg(long, value_name = "DURATION", default_value = "30d")]
    pub warn_within: String,
}

#[derive(Subcommand, Debug)]
pub enum KubeconfigCommand {
    /// Make admin.conf, super-admin.conf, kubelet.conf, controller-manager.conf and
    /// scheduler.conf (all, or the named ones).
    Init {
        /// Kubeconfig names (`admin` or `admin.conf`); none means all.
        names: Vec<String>,
        #[command(flatten)]
        pki: PkiArgs,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Text,
    Json,
    Yaml,
}

/// The flags every command that touches a PKI takes. Flags override the config file.
#[derive(Args, Debug, Clone)]
pub struct PkiArgs {
    /// kubeadm's config file (InitConfiguration + ClusterConfiguration, v1beta3/v1beta4).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where certificates and keys live [default: /etc/kubernetes/pki].
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Where kubeconfig files live [default: /etc/kubernetes].
    #[arg(long, value_name = "DIR")]
    pub kubeconfig_dir: Option<PathBuf>,
    /// RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384 or ED25519 [default: RSA-2048].
    #[arg(long, value_name = "ALG")]
    pub key_algorithm: Option<String>,
    /// The node name [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// The API server's advertise address [default: the host's first non-loopback IPv4].
    #[arg(long, value_name = "IP")]
    pub apiserver_advertise_address: Option<String>,
    /// The API server's port [default: 6443].
    #[arg(long, value_name = "PORT")]
    pub apiserver_bind_port: Option<u16>,
    /// A stable address for the control plane, HOST[:PORT].
    #[arg(long, value_name = "HOST[:PORT]")]
    pub control_plane_endpoint: Option<String>,
    /// The service subnet [default: 10.96.0.0/12].
    #[arg(long, value_name = "CIDR")]
    pub service_cidr: Option<String>,
    /// The cluster DNS domain [default: cluster.local].
    #[arg(long, value_name = "DOMAIN")]
    pub service_dns_domain: Option<String>,
    /// Extra API server SANs, comma-separated DNS names and IPs.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub apiserver_cert_extra_sans: Option<Vec<String>>,
    /// Leaf certificate validity, e.g. 8760h or 1y [default: 8760h].
    #[arg(long, value_name = "DURATION")]
    pub cert_validity: Option<String>,
    /// CA certificate validity [default: 87600h].
    #[arg(long, value_name = "DURATION")]
    pub ca_validity: Option<String>,
    /// Output format where the command reports.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    pub output: OutputFormat,
}
