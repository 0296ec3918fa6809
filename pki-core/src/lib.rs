//! pki-core
pub mod error;
pub mod key;
pub mod oid;
pub use error::{Error, Result};
pub use key::{KeyAlgorithm, PrivateKey};
pub mod cert;
pub mod config;
pub mod duration;
pub mod kubeconfig;
pub mod pki;
pub mod spec;
pub mod store;
pub mod tree;
pub mod yaml;
