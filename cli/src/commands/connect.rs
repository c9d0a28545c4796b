//! A registry client from the command line's registry options: the credentials they give
//! (a token wins over a user name) and where plain HTTP is allowed.

use std::io::BufRead;

use crate::args::RegistryArgs;
use crate::registry::auth::Credentials;
use crate::registry::client::Client;
use crate::registry::endpoint::Target;
use crate::CliError;

/// A client for `target` with the credentials of `args`.
pub(crate) fn client(args: &RegistryArgs, target: Target) -> Result<Client, CliError> {
    Ok(Client::new(target, credentials(args)?))
}

/// The credentials the options and environment give: a token wins over a user name.
fn credentials(args: &RegistryArgs) -> Result<Credentials, CliError> {
    if let Some(token) = &args.token {
        return Ok(Credentials::Token(token.clone()));
    }
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|source| CliError::Read {
                path: "<stdin>".into(),
                source,
            })?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        args.password.clone()
    };
    match (&args.username, password) {
        (Some(username), Some(password)) => Ok(Credentials::Basic {
            username: username.clone(),
            password,
        }),
        (None, None) => Ok(Credentials::Anonymous),
        (Some(_), None) => Err(CliError::Usage(
            "--username needs a password: --password, --password-stdin or MESHWARD_REGISTRY_PASSWORD".into(),
        )),
        (None, Some(_)) => Err(CliError::Usage(
            "a password needs --username (or MESHWARD_REGISTRY_USERNAME)".into(),
        )),
    }
}
