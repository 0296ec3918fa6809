//! The certificates API's rules, signer by signer (reference §7): every accepted and refused
//! request asserted with its message.

use pki_core::cert::{Sans, Subject};
use pki_core::csr::CertificateRequest;
use pki_core::signer::{self, SignRequest};
use pki_core::{KeyAlgorithm, PrivateKey};

struct Case {
    signer: &'static str,
    cn: &'static str,
    orgs: &'static [&'static str],
    dns: &'static [&'static str],
    ips: &'static [&'static str],
    emails: &'static [&'static str],
    usages: &'static [&'static str],
    expiration: Option<i64>,
    /// None: accepted. Some(text): refused with a message containing text.
    refused: Option<&'static str>,
}

const DS: &str = "digital signature";
const KE: &str = "key encipherment";
const CA: &str = "client auth";
const SA: &str = "server auth";

fn case(
    signer: &'static str,
    cn: &'static str,
    orgs: &'static [&'static str],
    usages: &'static [&'static str],
    refused: Option<&'static str>,
) -> Case {
    Case {
        signer,
        cn,
        orgs,
        dns: &[],
        ips: &[],
        emails: &[],
        usages,
        expiration: None,
        refused,
    }
}

fn run(cases: Vec<Case>) {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    for (i, c) in cases.iter().enumerate() {
        let sans = Sans {
            dns: c.dns.iter().map(|s| s.to_string()).collect(),
            ips: c.ips.iter().map(|s| s.parse().unwrap()).collect(),
            emails: c.emails.iter().map(|s| s.to_string()).collect(),
            uris: vec![],
        };
        let csr = CertificateRequest::build(&key, &Subject::new(c.cn, c.orgs), &sans).unwrap();
        let usages: Vec<String> = c.usages.iter().map(|u| u.to_string()).collect();
        let req = SignRequest {
            csr: &csr,
            signer_name: c.signer,
            usages: &usages,
            expiration_seconds: c.expiration,
        };
        let result = signer::check(&req, false);
        match (&result, c.refused) {
            (Ok(()), None) => {}
            (Err(e), Some(text)) => assert!(
                e.to_string().contains(text),
                "case {i} ({}): {e} should contain {text:?}",
                c.signer
            ),
            (Ok(()), Some(text)) => panic!(
                "case {i} ({}, {:?}, {:?}): accepted, expected refusal {text:?}",
                c.signer, c.cn, c.usages
            ),
            (Err(e), None) => panic!(
                "case {i} ({}, {:?}, {:?}): refused: {e}",
                c.signer, c.cn, c.usages
            ),
        }
    }
}

#[test]
fn kube_apiserver_client() {
    let s = signer::KUBE_APISERVER_CLIENT;
    run(vec![
        case(s, "jane", &["devs", "qa"], &[CA], None),
        case(s, "jane", &[], &[DS, KE, CA], None),
        case(s, "jane", &[], &[CA, DS], None),
        Case {
            dns: &["jane.example.test"],
            ..case(s, "jane", &[], &[CA], None)
        }, // SANs: anything
        case(
            s,
            "jane",
            &[],
            &[CA, SA],
            Some("invalid usage for client certificate: server auth"),
        ),
        case(
            s,
            "jane",
            &[],
            &[DS, KE],
            Some("must include \"client auth\""),
        ),
        case(
            s,
            "jane",
            &[],
            &[CA, "code signing"],
            Some("invalid usage for client certificate: code signing"),
        ),
        case(
            s,
            "jane",
            &[],
            &[CA, CA],
            Some("duplicate usage \"client auth\""),
        ),
        case(
            s,
            "jane",
            &[],
            &[CA, "flying"],
            Some("unsupported usage \"flying\""),
        ),
        case(s, "jane", &[], &[], Some("at least one usage")),
        Case {
            expiration: Some(599),
            ..case(
                s,
                "jane",
                &[],
                &[CA],
                Some("599 is less than the minimum of 600 seconds"),
            )
        },
        Case {
            expiration: Some(600),
            ..case(s, "jane", &[], &[CA], None)
        },
        case(
            s,
            "root",
            &["system:masters"],
            &[CA],
            Some("system:masters"),
        ),
    ]);
}

#[test]
fn kube_apiserver_client_kubelet() {
    let s = signer::KUBE_APISERVER_CLIENT_KUBELET;
    run(vec![
        case(s, "system:node:n1", &["system:nodes"], &[DS, KE, CA], None),
        case(s, "system:node:n1", &["system:nodes"], &[CA, DS], None), // newer kube-controller-managers
        case(
            s,
            "system:node:n1",
            &["system:nodes"],
            &[CA],
            Some("usages did not match"),
        ),
        case(
            s,
            "system:node:n1",
            &["system:nodes"],
            &[DS, KE, CA, SA],
            Some("usages did not match"),
        ),
        case(
            s,
            "n1",
            &["system:nodes"],
            &[DS, KE, CA],
            Some("must begin with \"system:node:\""),
        ),
        case(
            s,
            "system:node:n1",
            &[],
            &[DS, KE, CA],
            Some("exactly [system:nodes]"),
        ),
        case(
            s,
            "system:node:n1",
            &["system:nodes", "extra"],
            &[DS, KE, CA],
            Some("exactly [system:nodes]"),
        ),
        Case {
            dns: &["n1"],
            ..case(
                s,
                "system:node:n1",
                &["system:nodes"],
                &[DS, KE, CA],
                Some("must not have DNS, IP, email or URI SANs"),
            )
        },
        Case {
            ips: &["10.0.0.1"],
            ..case(
                s,
                "system:node:n1",
                &["system:nodes"],
                &[DS, KE, CA],
                Some("must not have"),
            )
        },
        Case {
            emails: &["n1@example.test"],
            ..case(
                s,
                "system:node:n1",
                &["system:nodes"],
                &[DS, KE, CA],
                Some("must not have"),
            )
        },
        Case {
            expiration: Some(60),
            ..case(
                s,
                "system:node:n1",
                &["system:nodes"],
                &[DS, KE, CA],
                Some("minimum of 600"),
            )
        },
    ]);
}

#[test]
fn kubelet_serving() {
    let s = signer::KUBELET_SERVING;
    let node = |usages, refused| Case {
        dns: &["n1"],
        ips: &["10.0.0.11"],
        ..case(s, "system:node:n1", &["system:nodes"], usages, refused)
    };
    run(vec![
        node(&[DS, KE, SA], None),
        node(&[DS, SA], None),
        node(&[SA], Some("usages did not match")),
        node(&[DS, KE, SA, CA], Some("usages did not match")),
        Case {
            dns: &[],
            ips: &["10.0.0.11"],
            ..node(&[DS, KE, SA], None)
        },
        Case {
            dns: &[],
            ips: &[],
            ..node(&[DS, KE, SA], Some("at least one DNS or IP SAN"))
        },
        Case {
            emails: &["n1@example.test"],
            ..node(&[DS, KE, SA], Some("must not have email or URI SANs"))
        },
        Case {
            cn: "n1",
            ..node(&[DS, KE, SA], Some("must begin with \"system:node:\""))
        },
        Case {
            orgs: &["system:masters"],
            ..node(&[DS, KE, SA], Some("system:masters"))
        },
    ]);
}

#[test]
fn legacy_custom_and_malformed_signers() {
    run(vec![
        case(
            signer::LEGACY_UNKNOWN,
            "x",
            &[],
            &[CA],
            Some("the legacy signerName is not allowed via this API version"),
        ),
        case(
            "example.com/my-signer",
            "anything",
            &["any-group"],
            &[SA, CA, "code signing"],
            None,
        ),
        case(
            "my-signer",
            "x",
            &[],
            &[CA],
            Some("must be a fully qualified name"),
        ),
        case(
            "example.com/",
            "x",
            &[],
            &[CA],
            Some("must be a fully qualified name"),
        ),
    ]);
}

#[test]
fn system_masters_can_be_allowed_explicitly() {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = CertificateRequest::build(
        &key,
        &Subject::new("root", &["system:masters"]),
        &Sans::default(),
    )
    .unwrap();
    let usages = vec![CA.to_string()];
    let req = SignRequest {
        csr: &csr,
        signer_name: signer::KUBE_APISERVER_CLIENT,
        usages: &usages,
        expiration_seconds: None,
    };
    assert!(signer::check(&req, false).is_err());
    assert!(signer::check(&req, true).is_ok());
}
