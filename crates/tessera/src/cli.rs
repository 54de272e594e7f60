//! The command line: `serve`, `migrate`, `admin` for the credentials production needs, and
//! `keys` for master-key rotation.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tessera_core::delivery::{Delivery, DeliveryStatus};
use tessera_core::store::{EventFilter, EventRecord};
use tessera_core::{EmailAddress, Password, PhoneNumber, RelyingParty, Role, SystemClock, UserId};
use tessera_server::cpus::{self, Placement};
use tessera_server::service::{NewAccount, NewPassword, WebAuthnSettings};
use tessera_store::Engine;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::{Config, Settings};
use crate::keys::KeysAction;
use crate::startup::{Application, build_service, open_store};

#[derive(Debug, Parser)]
#[command(name = "tessera", version, about = "Self-hosted multi-factor authentication server", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (REST, gRPC and gRPC-web on one port).
    Serve(#[command(flatten)] Settings),
    #[command(flatten)]
    Tool(Tool),
}

/// The commands that do their work and exit.
#[derive(Debug, Subcommand)]
pub enum Tool {
    /// Apply database migrations and exit (serve also applies them at start-up).
    Migrate(#[command(flatten)] Settings),
    /// Create projects, tenants, organizations, users, API keys, PATs and admin tokens.
    Admin {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Rotate the master key that seals secrets at rest: status, add, rotate, reseal, retire.
    Keys {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        action: KeysAction,
    },
    /// List the audit log, newest first: factor enrolments, removals, locks and unlocks, and
    /// failed verifications.
    Audit {
        #[command(flatten)]
        settings: Settings,
        #[command(flatten)]
        query: AuditQuery,
    },
}

#[derive(Debug, clap::Args)]
pub struct AuditQuery {
    /// Only events of this user.
    #[arg(long)]
    user: Option<String>,
    /// Only events of this realm: PROJECT, PROJECT/TENANT, or an organization id.
    #[arg(long)]
    realm: Option<String>,
    /// Only events at or after this time (RFC 3339, e.g. 2026-11-22T10:00:00Z).
    #[arg(long, value_parser = parse_time)]
    since: Option<OffsetDateTime>,
    /// Only events before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    until: Option<OffsetDateTime>,
    #[arg(long, default_value_t = 100)]
    limit: i64,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create an Identity Toolkit project (a realm).
    CreateProject { project: String },
    /// Create a tenant of a project.
    CreateTenant { project: String, tenant: String },
    /// Create an API key for a project's end-user calls; printed once, stored hashed.
    CreateApiKey { project: String },
    /// Create a ZITADEL organization: a new tenant of PROJECT (default: the configured
    /// default project). Prints the organization id.
    CreateOrg {
        name: String,
        #[arg(long)]
        project: Option<String>,
    },
    /// Create a machine user in the organization ORG_ID with a ZITADEL role (IAM_OWNER,
    /// ORG_OWNER, ORG_USER_MANAGER or ORG_OWNER_VIEWER). Prints its user id.
    CreateMachineUser {
        org_id: String,
        username: String,
        #[arg(long, default_value = "ORG_OWNER", value_parser = parse_role)]
        role: Role,
    },
    /// Create a personal access token for a machine user; printed once, stored hashed.
    CreatePat { machine_user_id: String },
    /// Set the organization's own WebAuthn relying party: the id (a domain) security keys are
    /// bound to and the origins its login pages are served from (any port). Without
    /// --rp-id, the organization goes back to the server's webauthn_origins.
    SetWebauthn {
        org_id: String,
        #[arg(long, requires = "origin")]
        rp_id: Option<String>,
        #[arg(long)]
        origin: Vec<String>,
    },
    /// Create a human user in the organization ORG_ID. Prints the user id.
    CreateUser {
        org_id: String,
        #[arg(long)]
        email: String,
        /// Marks the email address as verified (needed for the OTP Email factor).
        #[arg(long)]
        email_verified: bool,
        /// E.164; a phone set by an administrator counts as verified (OTP SMS).
        #[arg(long)]
        phone: Option<String>,
        #[arg(long, env = "TESSERA_NEW_USER_PASSWORD")]
        password: Option<String>,
    },
    /// Create an admin bearer token (Admin SDK calls); printed once, stored hashed.
    CreateAdminToken {
        #[arg(long, default_value = "admin")]
        label: String,
    },
    /// Clear the failed attempts and locks of a user's factors (see the README's security
    /// section). Prints the factors unlocked.
    UnlockFactors {
        user_id: String,
        /// The user's realm (PROJECT, PROJECT/TENANT or an organization id); found from the
        /// user id when left out.
        #[arg(long)]
        realm: Option<String>,
    },
    /// List the newest SMS and email messages with their delivery status and attempts.
    Deliveries {
        /// Only messages in this state.
        #[arg(long, value_parser = parse_status)]
        status: Option<DeliveryStatus>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

impl Cli {
    /// Runs the command on a new async runtime. `serve` loads its configuration and places
    /// its threads first: threads inherit where they may run from their parent, so that must
    /// happen before the runtime starts them.
    pub fn start(self) -> anyhow::Result<()> {
        let runtime = || {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        };
        match self.command {
            Command::Serve(settings) => {
                let config = settings.load()?;
                let writes = place_threads(&config)?;
                let writes = writes.as_ref().map(|writes| writes.handle().clone());
                runtime()?.block_on(serve(config, writes))
            }
            Command::Tool(tool) => runtime()?.block_on(run(tool)),
        }
    }
}

/// Places `serve`'s threads as `request_cpus` says: the request path confined to one CPU, or
/// a runtime on one CPU for the requests that write (returned, to be kept while serving).
fn place_threads(config: &Config) -> anyhow::Result<Option<tokio::runtime::Runtime>> {
    let sqlite = Engine::from_url(config.database_url().expose()) == Some(Engine::Sqlite);
    let given = cpus::given();
    match config.request_cpus.placement(given, sqlite) {
        Placement::Anywhere => Ok(None),
        Placement::OneCpu => {
            cpus::confine_to_first_cpu()?;
            tracing::info!(
                cpus = given,
                "request path on one CPU, password hashing and signing on all"
            );
            Ok(None)
        }
        Placement::WritesOnOneCpu => {
            tracing::info!(
                cpus = given,
                "requests that write on one CPU with SQLite's writer, the rest on all"
            );
            Ok(Some(cpus::writes_runtime()?))
        }
    }
}

async fn serve(config: Config, writes: Option<tokio::runtime::Handle>) -> anyhow::Result<()> {
    tracing::info!(
        listen = %config.listen,
        mode = ?config.mode,
        data_dir = %config.data_dir.display(),
        database = config.database_url().expose().split(':').next().unwrap_or_default(),
        "starting"
    );
    let shutdown = shutdown_signal()?;
    Application::build_placed(&config, Arc::new(SystemClock), writes)
        .await?
        .run(shutdown)
        .await
}

async fn run(tool: Tool) -> anyhow::Result<()> {
    match tool {
        Tool::Migrate(settings) => {
            open_store(&settings.load()?).await?.close().await;
            println!("migrations applied");
            Ok(())
        }
        Tool::Keys { settings, action } => {
            println!("{}", action.run(&settings.load()?).await?);
            Ok(())
        }
        Tool::Admin { settings, action } => {
            let config = settings.load()?;
            let store = Arc::new(open_store(&config).await?);
            let service = build_service(&config, store.clone(), Arc::new(SystemClock)).await?;
            let output = match action {
                AdminAction::CreateProject { project } => {
                    service.create_project(&project).await?;
                    format!("project {project} ready")
                }
                AdminAction::CreateTenant { project, tenant } => {
                    service.create_tenant(&project, &tenant).await?;
                    format!("tenant {tenant} of project {project} ready")
                }
                AdminAction::CreateApiKey { project } => service.create_api_key(&project).await?,
                AdminAction::CreateOrg { name, project } => {
                    let project = project.unwrap_or_else(|| config.default_project.clone());
                    let org = service.create_org(&project, &name, None).await?;
                    org.org_id.unwrap_or_default()
                }
                AdminAction::CreateMachineUser {
                    org_id,
                    username,
                    role,
                } => {
                    let org = service.org_realm(&org_id).await?;
                    let user = service.create_machine_user(&org, &username, role).await?;
                    user.id.to_string()
                }
                AdminAction::CreatePat { machine_user_id } => {
                    let id = UserId::parse(&machine_user_id).context("machine user id")?;
                    service.create_pat(&id).await?
                }
                AdminAction::SetWebauthn {
                    org_id,
                    rp_id,
                    origin,
                } => {
                    WebAuthnSettings::new("", &origin)
                        .map_err(|bad| anyhow::anyhow!("--origin {bad} is not an origin"))?;
                    let org = service.org_realm(&org_id).await?;
                    let relying_party = rp_id.map(|id| RelyingParty {
                        id,
                        origins: origin,
                    });
                    let done = service.set_relying_party(&org, relying_party).await?;
                    match done.relying_party {
                        Some(rp) => {
                            format!("relying party {} for {}", rp.id, rp.origins.join(", "))
                        }
                        None => "relying party: the server's".to_owned(),
                    }
                }
                AdminAction::CreateUser {
                    org_id,
                    email,
                    email_verified,
                    phone,
                    password,
                } => {
                    let org = service.org_realm(&org_id).await?;
                    let account = NewAccount {
                        email: Some(EmailAddress::parse(&email).context("--email")?),
                        email_verified,
                        phone_number: phone
                            .map(|p| PhoneNumber::parse(&p).context("--phone (E.164)"))
                            .transpose()?,
                        password: password
                            .map(|p| {
                                Password::parse(&p).context("--password: at least 6 characters")
                            })
                            .transpose()?
                            .map(NewPassword::Plain),
                        ..NewAccount::default()
                    };
                    service
                        .create_account(&org, account, Vec::new())
                        .await?
                        .id
                        .to_string()
                }
                AdminAction::CreateAdminToken { label } => {
                    service.create_admin_token(&label).await?
                }
                AdminAction::UnlockFactors { user_id, realm } => {
                    let user = UserId::parse(&user_id).context("user id")?;
                    let realm = match realm {
                        Some(name) => Some(service.realm_named(&name).await?),
                        None => None,
                    };
                    let unlocked = service.unlock_factors(realm.as_ref(), &user).await?;
                    let ids: Vec<&str> = unlocked.iter().map(|f| f.as_str()).collect();
                    format!("unlocked {} factor(s) {}", ids.len(), ids.join(" "))
                        .trim_end()
                        .to_owned()
                }
                AdminAction::Deliveries { status, limit } => {
                    let rows = service.deliveries(status, limit).await?;
                    deliveries_table(&rows)
                }
            };
            store.close().await;
            println!("{output}");
            Ok(())
        }
        Tool::Audit { settings, query } => {
            let config = settings.load()?;
            let store = Arc::new(open_store(&config).await?);
            let service = build_service(&config, store.clone(), Arc::new(SystemClock)).await?;
            let realm = match &query.realm {
                Some(name) => Some(service.realm_named(name).await?.id),
                None => None,
            };
            let filter = EventFilter {
                realm,
                user: query
                    .user
                    .as_deref()
                    .map(|u| UserId::parse(u).context("--user"))
                    .transpose()?,
                since: query.since,
                until: query.until,
                limit: query.limit,
            };
            let events = service.events(&filter).await?;
            store.close().await;
            if query.json {
                for event in &events {
                    println!("{}", event_json(event));
                }
            } else {
                println!("{}", events_table(&events));
            }
            Ok(())
        }
    }
}

fn parse_time(raw: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|e| format!("an RFC 3339 time such as 2026-11-22T10:00:00Z ({e})"))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// One line per event, newest first.
fn events_table(events: &[EventRecord]) -> String {
    let mut out = String::from("AT\tREALM\tUSER\tFACTOR\tKIND\tDETAIL");
    for e in events {
        out.push_str(&format!(
            "\n{}\t{}\t{}\t{}\t{}\t{}",
            rfc3339(e.at),
            e.realm.0,
            e.user.as_ref().map(UserId::as_str).unwrap_or("-"),
            e.factor.as_ref().map(|f| f.as_str()).unwrap_or("-"),
            e.kind,
            e.detail.as_deref().unwrap_or_default()
        ));
    }
    out
}

fn event_json(e: &EventRecord) -> serde_json::Value {
    serde_json::json!({
        "id": e.id,
        "at": rfc3339(e.at),
        "realm": e.realm.0,
        "user": e.user.as_ref().map(UserId::as_str),
        "factor": e.factor.as_ref().map(|f| f.as_str()),
        "kind": e.kind,
        "detail": e.detail,
    })
}

/// A future that completes on ctrl-c or SIGTERM. The handlers are registered here, before
/// the server announces it is listening, so a signal sent right after start-up is never
/// met by the default action (immediate death).
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutdown requested; draining");
    })
}

fn parse_status(raw: &str) -> Result<DeliveryStatus, String> {
    DeliveryStatus::parse(raw).ok_or_else(|| "one of queued, sent, failed".to_owned())
}

/// One line per message, newest first: never the content, which is sealed.
fn deliveries_table(rows: &[Delivery]) -> String {
    let time = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let mut out = String::from("CREATED\tID\tCHANNEL\tTO\tSTATUS\tATTEMPTS\tSENT/NEXT\tLAST ERROR");
    for d in rows {
        let when = match d.status {
            DeliveryStatus::Sent => d.sent_at.map(time).unwrap_or_default(),
            DeliveryStatus::Queued => time(d.next_attempt_at),
            DeliveryStatus::Failed => String::new(),
        };
        out.push_str(&format!(
            "\n{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            time(d.created_at),
            d.id,
            d.channel.as_str(),
            d.destination,
            d.status.as_str(),
            d.attempts,
            when,
            d.last_error.as_deref().unwrap_or_default()
        ));
    }
    out
}

fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(raw).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("one of {}", names.join(", "))
    })
}
