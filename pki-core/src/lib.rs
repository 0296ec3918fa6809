//! # pki-core
//!
//! A Kubernetes PKI as a library: the certificate authorities of a cluster, every component's
//! client and serving certificate (with kubeadm's subjects, usages and SANs), the
//! service-account key pair and the kubeconfig files — built in memory, written to disk as a
//! separate, atomic step.
//!
//! The certificates are data: [`spec`] holds kubeadm's list of certificates and kubeconfigs
//! as a table and [`hardway`] the hand-built layout's; resolved for one cluster they become a
//! [`layout::Layout`], which every operation reads. [`config`] turns kubeadm's config file (or
//! equivalent values) into a [`ClusterConfig`], and [`pki::build`] issues whatever the layout
//! says is missing through one signing path ([`cert::issue`]).
//!
//! The library never prints and never exits; every failure is an [`Error`] whose text is one
//! line naming the file, field or input at fault.
//!
//! ## A whole PKI in memory
//!
//! ```
//! use std::time::SystemTime;
//! use pki_core::{config::ClusterConfig, pki, spec, tree::{Dirs, Location, Tree}, Certificate, KeyAlgorithm};
//!
//! let config = ClusterConfig::for_localhost(KeyAlgorithm::EcdsaP256);
//! let layout = spec::kubeadm_layout(&config); // kubeadm's table, resolved for this cluster
//! let all = pki::Selection::all(&layout);
//! let built = pki::build(&layout, &Dirs::from(&config), &Tree::new(), &all, SystemTime::now())?;
//!
//! // PEM files by directory and path…
//! let pem = String::from_utf8(built.file(Location::CertDir, "apiserver.crt").unwrap().contents.clone()).unwrap();
//! let apiserver = Certificate::from_pem(&pem)?;
//! assert_eq!(apiserver.subject().common_name, "kube-apiserver");
//! assert!(apiserver.sans().dns.contains(&"kubernetes.default.svc.cluster.local".to_string()));
//!
//! // …and kubeconfigs as kube-rs values.
//! let admin = &built.kubeconfigs["admin.conf"];
//! assert_eq!(admin.current_context.as_deref(), Some("kubernetes-admin@kubernetes"));
//! # Ok::<(), pki_core::Error>(())
//! ```
//!
//! ## From a kubeadm config file to disk
//!
//! ```no_run
//! use std::time::SystemTime;
//! use pki_core::config::{ConfigInput, HostFacts};
//! use pki_core::{pki, spec, store, tree::Dirs};
//!
//! let text = std::fs::read_to_string("kubeadm.yaml").unwrap();
//! let config = ConfigInput::from_kubeadm_yaml(&text)?.resolve(&HostFacts::detect())?;
//! let (layout, dirs) = (spec::kubeadm_layout(&config), Dirs::from(&config));
//! let existing = store::load(&dirs, &layout)?;          // what is already there is checked and kept
//! let built = pki::build(&layout, &dirs, &existing, &pki::Selection::all(&layout), SystemTime::now())?;
//! store::commit(&dirs, &built.files)?;                   // all or nothing; never overwrites
//! # Ok::<(), pki_core::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cert;
pub mod config;
pub mod csr;
pub mod duration;
pub mod error;
pub mod expiry;
pub mod external;
pub mod hardway;
pub mod inspect;
pub mod inventory;
pub mod key;
pub mod kubeconfig;
pub mod layout;
pub mod manifest;
pub mod oid;
pub mod pki;
pub mod rbac;
pub mod renew;
pub mod signer;
pub mod spec;
pub mod store;
pub mod tree;
pub mod verify;
pub mod yaml;

pub use cert::{Certificate, Subject};
pub use config::ClusterConfig;
pub use error::{Error, Result};
pub use key::{KeyAlgorithm, PrivateKey};
