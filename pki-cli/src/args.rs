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
    /// CertificateSigningRequests: create them, sign them as the cluster's signer, extract
    /// the issued certificate.
    #[command(subcommand)]
    Csr(CsrCommand),
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
    /// Workers of a hand-built (hard-way) cluster.
    #[command(subcommand)]
    Node(NodeCommand),
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
    /// Keys and CSRs for every leaf and kubeconfig instead of certificates, for an external
    /// CA; once the signed certificates are in place, `init` accepts them without ca.key.
    GenerateCsr(PkiArgs),
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
pub enum NodeCommand {
    /// Add a worker to the cluster description (--cluster) and issue only its files: its
    /// certificate, key and kubeconfig. Nothing else is touched.
    Add {
        /// The worker's name.
        name: String,
        /// Its IP addresses (repeat or comma-separate).
        #[arg(long, value_delimiter = ',')]
        ip: Vec<String>,
        #[command(flatten)]
        pki: PkiArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum CsrCommand {
    /// A private key, a PKCS#10 CSR and a certificates.k8s.io/v1 CertificateSigningRequest
    /// manifest ready for `kubectl apply -f`, checked against the signer's rules first.
    Create {
        /// The identity: the certificate's CN, the files' and the manifest's name.
        #[arg(long)]
        name: String,
        /// A group (O=); repeat for several.
        #[arg(long = "org", value_name = "GROUP")]
        orgs: Vec<String>,
        /// The signerName.
        #[arg(long, default_value = "kubernetes.io/kube-apiserver-client")]
        signer: String,
        /// Comma-separated usages [default: the signer's usual ones].
        #[arg(long, value_delimiter = ',')]
        usages: Option<Vec<String>>,
        /// spec.expirationSeconds, e.g. 24h (at least 10m).
        #[arg(long, value_name = "DURATION")]
        expiration: Option<String>,
        /// DNS SANs (kubelet-serving), comma-separated.
        #[arg(long, value_delimiter = ',')]
        dns: Vec<String>,
        /// IP SANs (kubelet-serving), comma-separated.
        #[arg(long, value_delimiter = ',')]
        ip: Vec<String>,
        /// Algorithm of the new key [default: RSA-2048].
        #[arg(long, value_name = "ALG")]
        key_algorithm: Option<String>,
        /// Use this existing private key instead of making one.
        #[arg(long, value_name = "FILE", conflicts_with = "key_algorithm")]
        key: Option<PathBuf>,
        /// Use this existing CSR (e.g. made by openssl) instead of making one.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["key", "key_algorithm", "orgs", "dns", "ip"])]
        csr: Option<PathBuf>,
        /// Also write a RoleBinding (ROLE[:NAMESPACE]) or ClusterRoleBinding
        /// (clusterrole/NAME) for the new identity.
        #[arg(long, value_name = "ROLE[:NAMESPACE]")]
        bind: Option<String>,
        /// Let the request ask for the system:masters group.
        #[arg(long)]
        allow_system_masters: bool,
        /// Where to write NAME.key, NAME.csr and NAME-csr.yaml.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out_dir: PathBuf,
    },
    /// Act as the cluster's signer for a CertificateSigningRequest manifest: enforce the
    /// signer's rules and issue what kube-controller-manager would.
    Sign {
        /// The manifest (YAML or JSON).
        file: PathBuf,
        /// The cluster's cert dir, whose ca.crt/ca.key sign the kubernetes.io signers.
        #[arg(long, value_name = "DIR", default_value = "/etc/kubernetes/pki")]
        cert_dir: PathBuf,
        /// The signer's CA certificate (required for a custom signerName).
        #[arg(long, value_name = "FILE", requires = "ca_key")]
        ca_cert: Option<PathBuf>,
        /// The signer's CA key.
        #[arg(long, value_name = "FILE", requires = "ca_cert")]
        ca_key: Option<PathBuf>,
        /// Where to write the certificate [default: stdout].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also write the manifest with status.certificate and an Approved condition.
        #[arg(long, value_name = "FILE")]
        manifest_out: Option<PathBuf>,
        /// The signer's maximum duration (--cluster-signing-duration).
        #[arg(long, value_name = "DURATION", default_value = "8760h")]
        signing_duration: String,
        /// Sign a request for the system:masters group.
        #[arg(long)]
        allow_system_masters: bool,
    },
    /// The PEM certificate out of a manifest such as `kubectl get csr NAME -o yaml` prints.
    Extract {
        /// The manifest (YAML or JSON).
        file: PathBuf,
        /// Where to write the certificate [default: stdout].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

// Parsed once per run; boxing the larger variant would only obscure the arguments.
#[allow(clippy::large_enum_variant)]
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
    /// A kubeconfig for one user: key and certificate signed by the cluster CA (or an existing
    /// pair), to stdout, --out or merged into an existing kubeconfig.
    User {
        /// The user name (the certificate's CN).
        #[arg(long)]
        client_name: String,
        /// A group (O=); repeat for several.
        #[arg(long = "org", value_name = "GROUP")]
        orgs: Vec<String>,
        /// The certificate's validity.
        #[arg(long, value_name = "DURATION", default_value = "8760h")]
        validity: String,
        /// Wrap this existing certificate (e.g. from `kpki csr extract`) instead of issuing one.
        #[arg(
            long,
            value_name = "FILE",
            requires = "client_key",
            conflicts_with = "orgs"
        )]
        client_cert: Option<PathBuf>,
        /// Its key.
        #[arg(long, value_name = "FILE", requires = "client_cert")]
        client_key: Option<PathBuf>,
        /// The API server URL [default: admin.conf's rule: control-plane endpoint, else
        /// advertise address and port].
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Write the kubeconfig here instead of stdout (0600; refuses to overwrite).
        #[arg(long, value_name = "FILE", conflicts_with = "merge_into")]
        out: Option<PathBuf>,
        /// Add the user, cluster and context to this kubeconfig, keeping everything else.
        #[arg(long, value_name = "FILE")]
        merge_into: Option<PathBuf>,
        /// Also write a RoleBinding/ClusterRoleBinding manifest to this file
        /// (`--bind ROLE[:NAMESPACE]` or `clusterrole/NAME`).
        #[arg(long, value_name = "ROLE[:NAMESPACE]", requires = "bind_out")]
        bind: Option<String>,
        /// Where the binding manifest goes.
        #[arg(long, value_name = "FILE", requires = "bind")]
        bind_out: Option<PathBuf>,
        /// Let the user be in the system:masters group.
        #[arg(long)]
        allow_system_masters: bool,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// kubeadm's layout (/etc/kubernetes/pki, kubeadm's config file).
    Kubeadm,
    /// A hand-built cluster's flat layout, from a cluster description (--cluster).
    HardWay,
}

/// The flags every command that touches a PKI takes. Flags override the config file.
#[derive(Args, Debug, Clone)]
pub struct PkiArgs {
    /// The certificate layout.
    #[arg(long, value_enum, default_value = "kubeadm")]
    pub profile: Profile,
    /// The cluster description file of the hard-way profile (see fixtures/hard-way).
    #[arg(long, value_name = "FILE")]
    pub cluster: Option<PathBuf>,
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
