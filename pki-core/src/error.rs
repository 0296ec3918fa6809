//! One error type for the whole library.
//!
//! Every variant renders as one line that names the thing at fault (a file, a config field, a
//! flag-like input) and what was expected, so a command line tool can print it as it is.

use std::path::PathBuf;

/// Everything that can go wrong in `pki-core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value (from a kubeadm config file or its command-line equivalent) is
    /// invalid. `field` is the kubeadm field path, e.g. `apiServer.certSANs[2]`.
    #[error("{field}: {message}")]
    Config {
        /// The field at fault.
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A file exists but its content is not acceptable (unparseable, from another CA, …).
    #[error("{}: {message}", path.display())]
    File {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong and what was expected.
        message: String,
    },
    /// An I/O operation on a path failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An input that is not a file or a config field (a PEM string handed to the library, a
    /// certificate name, …) is invalid.
    #[error("{what}: {message}")]
    Invalid {
        /// What the input is.
        what: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The cryptographic backend refused an operation (should not happen with valid keys).
    #[error("crypto: {0}")]
    Crypto(String),
}

impl Error {
    /// A config-field error.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            message: message.into(),
        }
    }
    /// A file-content error.
    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::File {
            path: path.into(),
            message: message.into(),
        }
    }
    /// An I/O error on a path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    /// An invalid input that is neither a file nor a config field.
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            message: message.into(),
        }
    }

    /// Re-attributes an input error to a file: used when an in-memory parse error turns out to
    /// come from a file on disk, so the message names the file.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            Error::Invalid { message, .. } => Error::File {
                path: path.into(),
                message,
            },
            Error::Crypto(message) => Error::File {
                path: path.into(),
                message,
            },
            other => other,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
