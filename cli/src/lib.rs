//! meshward's command-line program (package `meshward`, binary `meshward`): one module per
//! command under [`commands`], the OCI image format of a filter in [`oci`], the registry client
//! in [`registry`], the detection measurement in [`detection`]. `main` parses the arguments ([`args`]) and hands them to [`run`].

pub mod args;
pub mod commands;
pub mod detection;
pub mod error;
pub mod oci;
pub mod registry;

pub use error::CliError;

use args::{CheckCommand, Cli, Command, ImageCommand, LearnCommand, SnippetCommand};

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Check(CheckCommand::Waf(a)) => commands::check_waf::run(&a),
        Command::Check(CheckCommand::Policy(a)) => commands::check_policy::run(&a),
        Command::ImportIstio(a) => commands::import_istio::run(&a),
        Command::Image(ImageCommand::Build(a)) => commands::image_build::run(&a),
        Command::Image(ImageCommand::Push(a)) => commands::image_push::run(&a),
        Command::Image(ImageCommand::Inspect(a)) => commands::image_inspect::run(&a),
        Command::Image(ImageCommand::Pull(a)) => commands::image_pull::run(&a),
        Command::Snippet(SnippetCommand::Istio(a)) => commands::snippet::istio(&a),
        Command::Snippet(SnippetCommand::Envoy(a)) => commands::snippet::envoy(&a),
        Command::Detection(a) => commands::detection::run(&a),
        Command::Learn(LearnCommand::Policy(a)) => commands::learn_policy::run(&a),
        Command::Learn(LearnCommand::Api(a)) => commands::learn_api::run(&a),
    }
}
