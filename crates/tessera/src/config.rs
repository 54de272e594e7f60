//! Configuration: defaults, then a TOML file, then `TESSERA_*` environment variables, then
//! command-line flags, each layer overriding the one before (DESIGN.md "Configuration and
//! start-up"). Unknown keys are errors in every layer, so a typo never passes silently.
//! Secrets (the database URL may carry a password) are wrapped so they are never printed.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Uncased, UncasedStr};
use serde::{Deserialize, Serialize};
use tessera_server::cpus::RequestCpus;
use tessera_server::http::ClientIpSource;
use tessera_server::passwords::PasswordParams;
use tessera_server::service::{DeliveryLimits, FailureLimits};
use tessera_server::tokens::TokenAlgorithm;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One process, SQLite, codes in the dev outbox, default project, `Bearer owner` accepted.
    Dev,
    /// Explicit master key required; only stored API keys and admin tokens are accepted.
    Production,
}

/// A string that never appears in logs or debug output.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `sqlite://<data_dir>/tessera.db`.
    pub database_url: Option<Secret>,
    /// Connections to PostgreSQL, or SQLite readers.
    pub database_max_connections: u32,
    /// Defaults to `<data_dir>/master.key`, generated on first start in dev mode.
    pub master_key_file: Option<PathBuf>,
    pub mode: Mode,
    /// The project that dev-mode API keys and the Firebase emulator layout act on.
    pub default_project: String,
    pub passwords: PasswordParams,
    /// Dev mode only: issue unsigned (`alg: none`) ID tokens, as the Firebase Auth emulator
    /// does, for clients that accept nothing else in emulator mode (firebase-admin for Node's
    /// `verifyIdToken`). Unsigned tokens can be forged by anyone; production refuses this.
    pub unsigned_id_tokens: bool,
    /// `RS256` (default: what firebase-admin and other Firebase verifiers accept) or `ES256`
    /// (much cheaper to sign, for verifiers that read the JWK set). Keys of the other
    /// algorithm keep verifying the tokens they signed.
    pub token_algorithm: TokenAlgorithm,
    /// Origins that login pages using security keys are served from (any port). The first
    /// one's host is the default WebAuthn relying-party id.
    pub webauthn_origins: Vec<String>,
    /// The relying-party name authenticators show.
    pub webauthn_rp_name: String,
    /// Where the client address for per-IP limits comes from: `peer`, or, behind a proxy,
    /// `x_forwarded_for` / `x_real_ip`.
    pub client_ip: ClientIpSource,
    pub sms: SmsConfig,
    pub email: EmailConfig,
    /// Abuse limits on codes sent by SMS and email, shared by all nodes. Unset: production's
    /// defaults in production, none in dev mode (as the Firebase emulator has none); once set,
    /// limits left out take production's defaults.
    pub limits: Option<DeliveryLimits>,
    /// Limits on failed code checks per user and per client address, shared by all nodes.
    /// Unset: production's defaults in production, none in dev mode; once set, limits left
    /// out take production's defaults. (The per-factor soft lock applies in every mode.)
    pub failure_limits: Option<FailureLimits>,
    pub delivery: DeliveryConfig,
    /// `split`: requests that write, with SQLite's writer, on one CPU, the rest on all;
    /// `one`: the async runtime on one CPU, password hashing and signing on all
    /// (`tessera_server::cpus`); `all`: any thread anywhere; `auto` (default): `all`.
    pub request_cpus: RequestCpus,
    /// Production only: the service accounts whose custom tokens (the Admin SDKs'
    /// `createCustomToken`) sign users in, each with its RSA public key. Dev mode takes any
    /// custom token unchecked, as the Firebase emulator does.
    pub custom_token_signers: Vec<CustomTokenSigner>,
    /// Production only: the identity providers whose ID tokens sign users in
    /// (`signInWithIdp`), each verified against the keys the provider publishes. Dev mode
    /// takes any provider's token unchecked, as the Firebase emulator does.
    pub identity_providers: Vec<IdentityProvider>,
}

/// An identity provider whose ID tokens sign users in.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityProvider {
    /// Firebase's provider id: `google.com`, `apple.com`, `oidc.<name>`, …
    pub provider_id: String,
    /// The `iss` values its tokens carry (Google's: `https://accounts.google.com` and
    /// `accounts.google.com`).
    pub issuers: Vec<String>,
    /// Your app's client ids at the provider; a token must be issued for one (`aud`).
    pub client_ids: Vec<String>,
    /// Where the provider publishes its keys as a JWK set (Google's:
    /// `https://www.googleapis.com/oauth2/v3/certs`).
    pub jwks_uri: String,
}

/// A service account that signs custom tokens: its email (the tokens' `iss`) and a PEM file
/// with its public key (`PUBLIC KEY` or `RSA PUBLIC KEY`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CustomTokenSigner {
    pub service_account: String,
    pub public_key_file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Dev mode only: messages stay in the database, readable through the emulator's
    /// `verificationCodes` hook.
    #[default]
    Outbox,
    /// A JSON POST to `webhook_url`, signed with `webhook_secret`.
    Webhook,
    /// The Twilio Messages API, or a provider compatible with it at `twilio_base_url`.
    Twilio,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    pub webhook_url: Option<Secret>,
    pub webhook_secret: Option<Secret>,
    pub twilio_base_url: Option<String>,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<Secret>,
    /// The sender number or id (Twilio's `From`).
    pub from: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// `smtp://host:port`, `smtp+starttls://…` or `smtps://…`, with optional `user:password@`;
    /// unset in dev mode, mail stays in the database (the dev outbox).
    pub smtp_url: Option<Secret>,
    pub from: String,
    /// A PEM file of root certificates trusted besides Mozilla's, for an SMTP server whose
    /// certificate an internal CA issued.
    pub smtp_ca_file: Option<PathBuf>,
    /// A folder of templates overriding the built-in ones (see the README).
    pub templates_dir: Option<PathBuf>,
    /// Where the links of Identity Toolkit's emails (verify the address, reset the password)
    /// lead: an app's own email action handler. Unset, the self-service page's `/ui/action`.
    pub action_url: Option<String>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            smtp_url: None,
            from: "Tessera <no-reply@localhost>".to_owned(),
            smtp_ca_file: None,
            templates_dir: None,
            action_url: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Run this node's delivery worker (turn it off on nodes that should only answer API calls).
    pub worker: bool,
    /// How often the worker looks for messages that other nodes queued or left behind.
    pub poll_interval_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            worker: true,
            poll_interval_ms: 1000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./tessera-data"),
            database_url: None,
            database_max_connections: 16,
            master_key_file: None,
            mode: Mode::Dev,
            default_project: "demo-project".to_owned(),
            passwords: PasswordParams::default(),
            unsigned_id_tokens: false,
            token_algorithm: TokenAlgorithm::default(),
            webauthn_origins: vec!["http://localhost".to_owned()],
            webauthn_rp_name: "Tessera".to_owned(),
            client_ip: ClientIpSource::default(),
            sms: SmsConfig::default(),
            email: EmailConfig::default(),
            limits: None,
            failure_limits: None,
            delivery: DeliveryConfig::default(),
            request_cpus: RequestCpus::default(),
            custom_token_signers: Vec::new(),
            identity_providers: Vec::new(),
        }
    }
}

impl Config {
    pub fn database_url(&self) -> Secret {
        self.database_url.clone().unwrap_or_else(|| {
            Secret(format!(
                "sqlite://{}",
                self.data_dir.join("tessera.db").display()
            ))
        })
    }

    pub fn delivery_limits(&self) -> DeliveryLimits {
        self.limits.unwrap_or(match self.mode {
            Mode::Dev => DeliveryLimits::OFF,
            Mode::Production => DeliveryLimits::default(),
        })
    }

    pub fn failure_limits(&self) -> FailureLimits {
        self.failure_limits.unwrap_or(match self.mode {
            Mode::Dev => FailureLimits::OFF,
            Mode::Production => FailureLimits::default(),
        })
    }

    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }

    /// Settings for tests: a fresh data dir, port 0, and cheap Argon2 parameters.
    pub fn for_tests(data_dir: &Path) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_owned(),
            passwords: PasswordParams {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            delivery: DeliveryConfig {
                worker: true,
                poll_interval_ms: 50,
            },
            ..Config::default()
        }
    }
}

/// The flags every subcommand shares. Each also reads its `TESSERA_*` variable.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct Settings {
    /// Address for REST, gRPC and gRPC-web, all on one port.
    #[arg(long, env = "TESSERA_LISTEN", value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Folder for the SQLite database, the generated master key and dev files.
    #[arg(long, env = "TESSERA_DATA_DIR", value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Database to use: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(
        long,
        env = "TESSERA_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<Secret>,
    /// TOML configuration file; flags and environment override it.
    #[arg(long, env = "TESSERA_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// File holding the master key that seals secrets at rest (shared by all nodes).
    #[arg(long, env = "TESSERA_MASTER_KEY_FILE", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<PathBuf>,
    /// dev: SQLite, dev outbox, permissive credentials; production: explicit keys only.
    #[arg(long, env = "TESSERA_MODE", value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl Settings {
    pub fn load(&self) -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = &self.config {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(
            Env::prefixed("TESSERA_")
                .ignore(&["config"])
                .filter(|key| {
                    !TEXT_SETTINGS
                        .iter()
                        .any(|(env, _)| key == env["TESSERA_".len()..])
                })
                .map(delivery_env_key)
                .split("__"),
        );
        for (env, key) in TEXT_SETTINGS {
            if let Ok(value) = std::env::var(env) {
                figment = figment.merge(Serialized::default(key, value));
            }
        }
        figment
            .merge(Serialized::defaults(self))
            .extract()
            .map_err(Box::new)
    }
}

/// Settings that are text even when they look like numbers (`+15555550000`, a numeric token):
/// figment would parse such values, so they are read verbatim.
const TEXT_SETTINGS: [(&str, &str); 5] = [
    ("TESSERA_SMS_FROM", "sms.from"),
    ("TESSERA_SMS_WEBHOOK_SECRET", "sms.webhook_secret"),
    ("TESSERA_SMS_TWILIO_ACCOUNT_SID", "sms.twilio_account_sid"),
    ("TESSERA_SMS_TWILIO_AUTH_TOKEN", "sms.twilio_auth_token"),
    ("TESSERA_DEFAULT_PROJECT", "default_project"),
];

/// The delivery settings' environment names are fixed by the operator contract (DESIGN.md):
/// `TESSERA_SMS_PROVIDER` is `sms.provider`, `TESSERA_SMTP_URL` is `email.smtp_url`,
/// `TESSERA_EMAIL_FROM` is `email.from`. (`TESSERA_SMS__PROVIDER` works too.)
fn delivery_env_key(key: &UncasedStr) -> Uncased<'_> {
    let key = key.as_str().to_ascii_lowercase();
    let key = key.as_str();
    let mapped = if key == "smtp_url" {
        "email.smtp_url".to_owned()
    } else if let Some(rest) = key.strip_prefix("sms_").filter(|r| !r.starts_with('_')) {
        format!("sms.{rest}")
    } else if let Some(rest) = key.strip_prefix("email_").filter(|r| !r.starts_with('_')) {
        format!("email.{rest}")
    } else {
        key.to_owned()
    };
    mapped.into()
}
