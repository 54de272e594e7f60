//! The command line: `serve`, `migrate`, and `admin` for the credentials production needs.

use std::sync::Arc;

use clap::{Parser, Subcommand};
use tessera_core::SystemClock;

use crate::config::Settings;
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
    /// Apply database migrations and exit (serve also applies them at start-up).
    Migrate(#[command(flatten)] Settings),
    /// Create projects, tenants, API keys and admin tokens.
    Admin {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create an Identity Toolkit project (a realm).
    CreateProject { project: String },
    /// Create a tenant of a project.
    CreateTenant { project: String, tenant: String },
    /// Create an API key for a project's end-user calls; printed once, stored hashed.
    CreateApiKey { project: String },
    /// Create a ZITADEL personal access token for an administrator of the organization that
    /// addresses PROJECT (or its TENANT); printed once, stored hashed.
    CreatePat {
        project: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Create an admin bearer token (Admin SDK calls); printed once, stored hashed.
    CreateAdminToken {
        #[arg(long, default_value = "admin")]
        label: String,
    },
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Serve(settings) => {
                let config = settings.load()?;
                tracing::info!(
                    listen = %config.listen,
                    mode = ?config.mode,
                    data_dir = %config.data_dir.display(),
                    database = config.database_url().expose().split(':').next().unwrap_or_default(),
                    "starting"
                );
                let shutdown = shutdown_signal()?;
                Application::build(&config).await?.run(shutdown).await
            }
            Command::Migrate(settings) => {
                open_store(&settings.load()?).await?.close().await;
                println!("migrations applied");
                Ok(())
            }
            Command::Admin { settings, action } => {
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
                    AdminAction::CreateApiKey { project } => {
                        service.create_api_key(&project).await?
                    }
                    AdminAction::CreatePat { project, tenant } => {
                        let realm = service.realm(&project, tenant.as_deref()).await?;
                        let org = service.ensure_org(realm).await?;
                        service.create_pat(&org, "admin").await?
                    }
                    AdminAction::CreateAdminToken { label } => {
                        service.create_admin_token(&label).await?
                    }
                };
                store.close().await;
                println!("{output}");
                Ok(())
            }
        }
    }
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
