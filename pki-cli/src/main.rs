//! `kpki`: the command line over pki-core. It parses flags, calls the library, formats what
//! comes back and chooses the exit code; the library never prints or exits.

mod args;
mod config;
mod init;
mod list;
mod now;
mod table;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{CertsCommand, Cli, Command, KubeconfigCommand};

/// A failure, already worded for the user, and its exit code.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl From<pki_core::Error> for Failure {
    fn from(e: pki_core::Error) -> Self {
        Failure {
            message: e.to_string(),
            code: 1,
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { message, code: 1 }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init(pki) => init::run(&pki, init::What::All),
        Command::Certs(CertsCommand::Init { names, pki }) => {
            init::run(&pki, init::What::Certs(names))
        }
        Command::Certs(CertsCommand::List(pki)) => list::run(&pki),
        Command::Kubeconfig(KubeconfigCommand::Init { names, pki }) => {
            init::run(&pki, init::What::Kubeconfigs(names))
        }
        Command::Completion { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "kpki", &mut std::io::stdout());
            Ok(0)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
