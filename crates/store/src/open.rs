//! Opening the database named by a URL, and applying the embedded migrations.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use tessera_core::error::StoreError;
use tessera_core::store::StoreResult;

use crate::postgres_pool::PostgresPool;
use crate::readers::Readers;
use crate::writer::{SqliteWriter, sqlite_file};
use crate::{Backend, SqlStore, db_err};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The embedded migrations of `engine`; public so that a test can stop at an earlier version,
/// write rows the way an older release did, and check what the later migrations make of them.
pub fn migrator(engine: Engine) -> &'static Migrator {
    match engine {
        Engine::Sqlite => &SQLITE_MIGRATIONS,
        Engine::Postgres => &POSTGRES_MIGRATIONS,
    }
}

/// How long a SQLite connection waits for another process's lock before it fails as
/// "unavailable".
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Connections to PostgreSQL, or SQLite readers (SQLite always has exactly one writer).
    pub max_connections: u32,
    /// The runtime SQLite's writer's committer runs on (its writes run on the tasks that make
    /// them). The caller's when `None`.
    pub writer_runtime: Option<tokio::runtime::Handle>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            writer_runtime: None,
        }
    }
}

impl Engine {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Engine::Postgres)
        } else {
            None
        }
    }
}

impl SqlStore {
    /// Connects without migrating; `migrate` brings the schema up to date.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = Engine::from_url(url).ok_or_else(|| {
            StoreError::Internal(format!("unsupported database URL scheme: {}", scheme(url)))
        })?;
        match engine {
            Engine::Postgres => Ok(SqlStore {
                backend: Backend::Postgres(PostgresPool::open(url, options.max_connections).await?),
            }),
            Engine::Sqlite => {
                let url = if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                let runtime = options.writer_runtime.as_ref();
                let writer = SqliteWriter::open(&url, runtime).await?;
                let size = options.max_connections.clamp(1, 8) as usize;
                let readers = Readers::open(&sqlite_file(&url)?, size)?;
                Ok(SqlStore {
                    backend: Backend::Sqlite { writer, readers },
                })
            }
        }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = migrator(self.engine());
        let run = async |conn: &mut AnyConnection| {
            migrator.run(conn).await.map_err(|e| {
                tracing::error!(error = %e, "migration failed");
                StoreError::Internal(e.to_string())
            })
        };
        match &self.backend {
            Backend::Sqlite { writer, .. } => writer.alone(run).await,
            Backend::Postgres(pool) => pool.run(run).await,
        }
    }
}

/// Runs `start` on `runtime` (so that threads it starts inherit that runtime's CPUs).
pub(crate) async fn on_runtime<T: Send + 'static>(
    runtime: &tokio::runtime::Handle,
    start: impl Future<Output = StoreResult<T>> + Send + 'static,
) -> StoreResult<T> {
    runtime
        .spawn(start)
        .await
        .map_err(|e| StoreError::Internal(format!("starting SQLite connections: {e}")))?
}

/// Settings of every SQLite connection, sqlx's here and `conn::InPlace`: enforce foreign keys
/// (cascading deletes rely on it), leave fsyncing the log to the group commit (`WalSync`),
/// which makes every write durable before the store answers, and keep the log in WAL mode.
/// Each kind sets its own busy timeout.
pub(crate) const SQLITE_SETTINGS: [&str; 3] = [
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA journal_mode = WAL",
];

/// A sqlx SQLite connection with `SQLITE_SETTINGS`, waiting for a lock instead of failing
/// (migrations, tests).
pub(crate) async fn sqlite_connection(url: &str) -> StoreResult<AnyConnection> {
    let mut conn = AnyConnection::connect(url).await.map_err(db_err)?;
    let busy = format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis());
    for pragma in SQLITE_SETTINGS.into_iter().map(str::to_owned).chain([busy]) {
        sqlx::query(AssertSqlSafe(pragma))
            .execute(&mut conn)
            .await
            .map_err(db_err)?;
    }
    Ok(conn)
}

/// A fresh SQLite file for a unit test, as a URL; `name` keeps tests apart.
#[cfg(test)]
pub(crate) fn scratch_url(name: &str) -> StoreResult<String> {
    sqlx::any::install_default_drivers();
    let dir = std::env::temp_dir().join(format!("tessera-store-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::Internal(e.to_string()))?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        dir.join("test.db").display()
    ))
}

/// The scheme of a URL, for error messages that must not echo a password.
fn scheme(url: &str) -> &str {
    url.split(':').next().unwrap_or_default()
}
