use std::io::Read;

use clap::{Args, Subcommand};
use kash_service::Services;
use serde_json::json;

use super::{actor, uuid_arg};
use crate::output::{emit, CmdResult, Failure};

#[derive(Subcommand, Debug)]
pub enum UsersCmd {
    /// Create a user.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Read a console password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set how many active keys the user may hold (default 5).
    SetKeyCap(KeyCap),
    /// Set (or replace) the user's console password, read from standard input; the user's
    /// console sessions end.
    SetPassword {
        #[arg(long)]
        user: String,
        /// Read the password from standard input (the only way: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set the self-serve tier the console issues the user's keys at (free, developer,
    /// enterprise, mm). Existing keys keep their tier.
    SetTier {
        #[arg(long)]
        user: String,
        #[arg(long)]
        tier: String,
    },
}

/// A tier argument; anything else is a usage error.
pub fn tier_arg(value: &str) -> Result<kash_core::tier::Tier, Failure> {
    value.parse().map_err(|_| {
        Failure::usage(
            "--tier",
            format!("`{value}` is not free, developer, enterprise or mm"),
        )
    })
}

#[derive(Args, Debug)]
pub struct KeyCap {
    #[arg(long)]
    pub user: String,
    #[arg(long)]
    pub max_active: u32,
}

/// The first line of stdin, without its line ending.
pub fn read_password() -> Result<String, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::usage("password", format!("cannot read stdin: {e}")))?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}

pub async fn run(svc: &Services, cmd: UsersCmd, json_out: bool) -> CmdResult {
    match cmd {
        UsersCmd::Create {
            email,
            name,
            password_stdin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            let user = kash_service::users::create(
                svc,
                &email,
                name.as_deref(),
                password.as_deref(),
                &actor(),
            )
            .await?;
            emit(
                json_out,
                &json!({ "id": user.id, "email": user.email, "name": user.name, "tier": user.tier }),
                || format!("created user {} ({})", user.id, user.email),
            )
        }
        UsersCmd::SetPassword {
            user,
            password_stdin: _,
        } => {
            let user = uuid_arg("--user", &user)?;
            let password = read_password()?;
            let ended = kash_service::users::set_password(svc, &user, &password, &actor()).await?;
            emit(
                json_out,
                &json!({ "id": user, "passwordSet": true, "sessionsEnded": ended }),
                || format!("password set for user {user}; {ended} console session(s) ended"),
            )
        }
        UsersCmd::SetTier { user, tier } => {
            let user = uuid_arg("--user", &user)?;
            let tier = tier_arg(&tier)?;
            kash_service::keys::set_tier(
                svc,
                &kash_core::owner::Owner::User(user.clone()),
                tier,
                &actor(),
            )
            .await?;
            emit(
                json_out,
                &json!({ "id": user, "tier": tier.as_str() }),
                || format!("the console now issues keys of user {user} at tier {tier}"),
            )
        }
        UsersCmd::SetKeyCap(KeyCap { user, max_active }) => {
            let user = uuid_arg("--user", &user)?;
            kash_service::keys::set_key_cap(
                svc,
                &kash_core::owner::Owner::User(user.clone()),
                max_active,
                &actor(),
            )
            .await?;
            emit(
                json_out,
                &json!({ "id": user, "maxActiveKeys": max_active }),
                || format!("user {user} may now hold {max_active} active keys"),
            )
        }
    }
}
