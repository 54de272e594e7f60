//! Building a running server from a `Config`: open and migrate the store, load the master
//! key and the shared signing keys, assemble the service and the router, bind the port.
//! Tests, the CLI and `main` all start Tessera through here.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use tessera_core::{Clock, Role, Store, SystemClock};
use tessera_server::http::{self, HttpMetrics};
use tessera_server::passwords::PasswordHasherPool;
use tessera_server::service::{
    self, AcceptAll, AppVerifier, RequireEvidence, Service, ServiceParts, WebAuthnSettings,
};
use tessera_server::tokens::{CustomTokens, IdpProvider, IdpTokens, Signing, SigningKeys};
use tessera_store::{Engine, OpenOptions, SqlStore};
use tokio::net::TcpListener;
use tokio::runtime::Handle;

use crate::config::{Config, Mode};
use crate::{master_key, senders};

/// How long shutdown waits for messages being sent at that moment.
const WORKER_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    store: Arc<SqlStore>,
    service: Arc<Service>,
    delivery_worker: bool,
}

/// Opens the configured database and brings its schema up to date.
pub async fn open_store(config: &Config) -> anyhow::Result<SqlStore> {
    open_store_on(config, None).await
}

/// As `open_store`, with SQLite's writer on `writes` when given.
async fn open_store_on(config: &Config, writes: Option<Handle>) -> anyhow::Result<SqlStore> {
    let url = config.database_url();
    let engine = Engine::from_url(url.expose())
        .context("database URL must start with sqlite: or postgres://")?;
    if engine == Engine::Sqlite {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    }
    let options = OpenOptions {
        max_connections: config.database_max_connections,
        writer_runtime: writes,
    };
    let store = SqlStore::open(url.expose(), &options)
        .await
        .context("opening the database")?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

/// The service over an open store, with keys loaded (or created on first start).
pub async fn build_service(
    config: &Config,
    store: Arc<SqlStore>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<Service>> {
    let master = match config.mode {
        Mode::Dev => master_key::load_or_generate(&config.master_key_path())?,
        Mode::Production => {
            let Some(path) = &config.master_key_file else {
                bail!(
                    "production mode needs an explicit --master-key-file (TESSERA_MASTER_KEY_FILE)"
                );
            };
            master_key::load(path)?
        }
    };
    let dyn_store: Arc<dyn Store> = store;
    let keys = SigningKeys::load_or_create(
        dyn_store.as_ref(),
        &master,
        clock.now(),
        config.token_algorithm,
    )
    .await
    .context("loading token-signing keys")?;
    if config.unsigned_id_tokens && config.mode == Mode::Production {
        bail!(
            "unsigned_id_tokens is a dev-mode emulator convenience; production signs every ID token"
        );
    }
    let signing = if config.unsigned_id_tokens {
        Signing::Unsigned
    } else {
        Signing::Signed
    };
    let app_verifier: Arc<dyn AppVerifier> = match config.mode {
        Mode::Dev => Arc::new(AcceptAll),
        Mode::Production => Arc::new(RequireEvidence),
    };
    let service = Service::new(ServiceParts {
        store: dyn_store,
        clock,
        keys: Arc::new(keys),
        signing,
        master: Arc::new(master),
        app_verifier,
        passwords: PasswordHasherPool::new(config.passwords)
            .context("password hashing parameters")?,
        mode: match config.mode {
            Mode::Dev => service::Mode::Dev,
            Mode::Production => service::Mode::Production,
        },
        default_project: config.default_project.clone(),
        webauthn: WebAuthnSettings::new(&config.webauthn_rp_name, &config.webauthn_origins)
            .map_err(|bad| anyhow::anyhow!("webauthn_origins: {bad} is not an origin"))?,
        delivery: senders::delivery_setup(config)?,
        failure_limits: config.failure_limits(),
        custom_tokens: custom_tokens(config)?,
        idp_tokens: idp_tokens(config)?,
    })
    .context("assembling the service")?;
    if config.mode == Mode::Dev {
        dev_bootstrap(config, &service).await?;
    }
    Ok(Arc::new(service))
}

/// Which custom tokens sign in: in dev mode any, as in the emulator; in production those of
/// the configured service accounts, by their public keys.
fn custom_tokens(config: &Config) -> anyhow::Result<CustomTokens> {
    if config.mode == Mode::Dev {
        return Ok(CustomTokens::Unchecked);
    }
    let mut signers = Vec::new();
    for signer in &config.custom_token_signers {
        let path = &signer.public_key_file;
        let pem = std::fs::read(path)
            .with_context(|| format!("custom_token_signers: reading {}", path.display()))?;
        signers.push((signer.service_account.clone(), pem));
    }
    CustomTokens::signed(signers).map_err(|email| {
        anyhow::anyhow!("custom_token_signers: the key of {email} is no RSA public key in PEM")
    })
}

/// Which identity providers' tokens sign in: in dev mode any, unchecked, as in the emulator;
/// in production those of the configured providers, verified.
fn idp_tokens(config: &Config) -> anyhow::Result<IdpTokens> {
    if config.mode == Mode::Dev {
        return Ok(IdpTokens::Unchecked);
    }
    let mut providers = Vec::new();
    for provider in &config.identity_providers {
        let name = &provider.provider_id;
        if provider.issuers.is_empty() || provider.client_ids.is_empty() {
            bail!("identity_providers: {name} needs issuers and client_ids");
        }
        let jwks_uri = url::Url::parse(&provider.jwks_uri)
            .with_context(|| format!("identity_providers: the jwks_uri of {name}"))?;
        providers.push(IdpProvider {
            provider_id: name.clone(),
            issuers: provider.issuers.clone(),
            client_ids: provider.client_ids.clone(),
            jwks_uri,
        });
    }
    Ok(IdpTokens::verified(providers))
}

/// Dev mode's ready-made realm: the default project, which is also the default ZITADEL
/// organization, and an administrator's PAT in `<data-dir>/admin.pat` (ZITADEL's
/// first-instance convention). The first node creates them; later starts find them.
async fn dev_bootstrap(config: &Config, service: &Service) -> anyhow::Result<()> {
    let project = service
        .create_project(&config.default_project)
        .await
        .context("creating the default project")?;
    let org = service
        .ensure_org(project)
        .await
        .context("creating the default organization")?;
    let pat_path = config.data_dir.join("admin.pat");
    if !pat_path.exists() {
        std::fs::create_dir_all(&config.data_dir)?;
        let admin = service
            .ensure_machine_user(&org, "admin", Role::IamOwner)
            .await
            .context("creating the admin machine user")?;
        let pat = service
            .create_pat(&admin.id)
            .await
            .context("creating the admin PAT")?;
        std::fs::write(&pat_path, format!("{pat}\n"))
            .with_context(|| format!("writing {}", pat_path.display()))?;
        tracing::info!(path = %pat_path.display(), org = org.org_id.as_deref().unwrap_or_default(), "wrote the admin PAT (dev mode)");
    }
    Ok(())
}

impl Application {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// As `build`, with an injected clock (tests move time instead of sleeping).
    pub async fn build_with_clock(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        Self::build_placed(config, clock, None).await
    }

    /// As `build`, with requests that write, and SQLite's writer, on `writes` when given
    /// (`request_cpus = split`).
    pub async fn build_placed(
        config: &Config,
        clock: Arc<dyn Clock>,
        writes: Option<Handle>,
    ) -> anyhow::Result<Self> {
        let store = Arc::new(open_store_on(config, writes.clone()).await?);
        let service = build_service(config, store.clone(), clock).await?;
        senders::require_real_senders(config)?;
        let metrics = HttpMetrics::new().map_err(anyhow::Error::msg)?;
        let router = http::router(service.clone(), metrics, config.client_ip.clone(), writes);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        Ok(Application {
            listener,
            router,
            store,
            service,
            delivery_worker: config.delivery.worker,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn service(&self) -> Arc<Service> {
        self.service.clone()
    }

    /// Serves (and delivers queued messages) until `shutdown` completes, drains open requests,
    /// lets the delivery worker finish its round, then closes the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "tessera listening");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut worker = tokio::task::JoinSet::new();
        if self.delivery_worker {
            worker.spawn(self.service.clone().run_delivery_worker(stopped));
        }
        let served = http::serve(self.listener, self.router, shutdown).await;
        let _ = stop.send(true);
        // A JoinSet aborts its task when dropped: if this future is dropped mid-way, no worker
        // outlives the server. `join_next`, unlike `join_all`, does not panic on a worker the
        // runtime cancelled while shutting down.
        let finished = async { while worker.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(WORKER_GRACE, finished).await;
        served?;
        self.store.close().await;
        tracing::info!("tessera stopped");
        Ok(())
    }
}
