//! `kpki`: the command line over pki-core. It parses flags, calls the library, formats what
//! comes back and chooses the exit code; the library never prints or exits.

mod args;
mod config;
mod csr;
mod expiry;
mod init;
mod inspect;
mod list;
mod node;
mod now;
mod progress;
mod renew;
mod table;
mod user;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{CertsCommand, Cli, Command, KubeconfigCommand};

/// What a command prints: gathered first and written at the end, so that a closed pipe
/// (`kpki certs list | head`) is not an error and nothing half-formatted is shown.
#[derive(Default)]
pub struct Out {
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.stdout.push_str(text.as_ref());
        self.stdout.push('\n');
    }
    pub fn warn(&mut self, text: impl AsRef<str>) {
        self.stderr.push_str("warning: ");
        self.stderr.push_str(text.as_ref());
        self.stderr.push('\n');
    }
}

/// Writes, ignoring a reader that went away.
fn write_ignoring_closed_pipe(mut to: impl std::io::Write, text: &str) {
    let _ = to.write_all(text.as_bytes()).and_then(|_| to.flush());
}

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
    let mut out = Out::default();
    let result = match cli.command {
        Command::Init(pki) => init::run(&pki, init::What::All, &mut out),
        Command::Certs(CertsCommand::Init { names, pki }) => {
            init::run(&pki, init::What::Certs(names), &mut out)
        }
        Command::Certs(CertsCommand::List(pki)) => list::run(&pki, &mut out),
        Command::Certs(CertsCommand::CheckExpiration { window, pki }) => {
            expiry::run(&pki, &window, &mut out)
        }
        Command::Certs(CertsCommand::Renew {
            names,
            reuse_key,
            if_expiring_within,
            backup_dir,
            no_backup,
            lock_timeout,
            pki,
        }) => renew::run(
            &pki,
            &renew::Flags {
                names,
                reuse_key,
                if_expiring_within,
                backup_dir,
                no_backup,
                lock_timeout,
            },
            &mut out,
        ),
        Command::Verify { window, pki } => verify::run(&pki, &window, &mut out),
        Command::Certs(CertsCommand::GenerateCsr(pki)) => csr::generate(&pki, &mut out),
        Command::Csr(command) => csr::run(command, &mut out),
        Command::Node(args::NodeCommand::Add { name, ip, pki }) => {
            node::add(&name, &ip, pki, &mut out)
        }
        Command::Kubeconfig(user @ KubeconfigCommand::User { .. }) => user::run(user, &mut out),
        Command::Inspect { files, output } => inspect::run(&files, output, &mut out),
        Command::Kubeconfig(KubeconfigCommand::Init { names, pki }) => {
            init::run(&pki, init::What::Kubeconfigs(names), &mut out)
        }
        Command::Completion { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "kpki", &mut script);
            out.stdout = String::from_utf8_lossy(&script).into_owned();
            Ok(0)
        }
    };
    match result {
        Ok(code) => {
            write_ignoring_closed_pipe(std::io::stderr(), &out.stderr);
            write_ignoring_closed_pipe(std::io::stdout(), &out.stdout);
            ExitCode::from(code)
        }
        Err(f) => {
            // On failure only the error line is shown: nothing that looks like progress.
            write_ignoring_closed_pipe(std::io::stderr(), &format!("error: {}\n", f.message));
            ExitCode::from(f.code)
        }
    }
}
