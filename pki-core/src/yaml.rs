//! YAML output in the plain style kubectl and kubeadm write: no folded or literal block
//! scalars, so long base64 values stay on one line.

use serde::Serialize;

use crate::error::{Error, Result};

/// Serialises `value` as one YAML document.
pub fn to_string<T: Serialize>(value: &T) -> Result<String> {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    serde_saphyr::to_string_with_options(value, options)
        .map_err(|e| Error::Crypto(format!("YAML serialisation: {e}")))
}
