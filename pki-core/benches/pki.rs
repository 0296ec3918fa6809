//! The whole kubeadm tree in memory (10 certificates, sa keys, 5 kubeconfigs), per algorithm.
//! Run: `cargo bench -p pki-core --bench pki`.

use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion};
use pki_core::{
    config::ClusterConfig,
    pki, spec,
    tree::{Dirs, Tree},
    KeyAlgorithm, PrivateKey,
};

fn full_tree(c: &mut Criterion) {
    let mut group = c.benchmark_group("full kubeadm tree");
    group.sample_size(20);
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
        let config = ClusterConfig::for_localhost(alg);
        let layout = spec::kubeadm_layout(&config);
        let dirs = Dirs::from(&config);
        let selection = pki::Selection::all(&layout);
        group.bench_function(alg.name(), |b| {
            b.iter(|| {
                pki::build(&layout, &dirs, &Tree::new(), &selection, SystemTime::now()).unwrap()
            })
        });
    }
    group.finish();
}

fn one_key(c: &mut Criterion) {
    let mut group = c.benchmark_group("one key");
    group.sample_size(20);
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
        group.bench_function(alg.name(), |b| {
            b.iter(|| PrivateKey::generate(alg).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, full_tree, one_key);
criterion_main!(benches);
