//! Seeding: `--seed-users N` fills Tessera with N users, each with two phone second factors,
//! before the phases run, so the phases are measured on a store of realistic size. Users go in
//! through `accounts:batchCreate` (1000 a request, the Identity Toolkit's maximum, C requests in
//! flight), the path an operator migrating from Firebase takes; each request commits its users
//! before it answers. The emulator is not seeded: it keeps everything in memory and is
//! compared at the phases' size only.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::client::Client;
use crate::target::Target;

/// Users per `accounts:batchCreate` request.
const BATCH: usize = 1000;

/// What seeding did, for the report.
pub struct Seeded {
    pub users: usize,
    pub factors: usize,
    pub wall: Duration,
    pub peak_rss: Option<u64>,
    /// The server's RSS once seeding is over and the phases have not started.
    pub rss_after: Option<u64>,
}

pub async fn seed(
    client: &Arc<Client>,
    target: &Target,
    users: usize,
    concurrency: usize,
) -> anyhow::Result<Seeded> {
    if let Some(rss) = &target.rss {
        rss.reset_peak();
    }
    let next = Arc::new(AtomicUsize::new(0));
    let batches = users.div_ceil(BATCH);
    let started = Instant::now();
    let mut pool = JoinSet::new();
    for _ in 0..concurrency.clamp(1, batches.max(1)) {
        let (client, next) = (Arc::clone(client), Arc::clone(&next));
        pool.spawn(async move {
            loop {
                let batch = next.fetch_add(1, Ordering::Relaxed);
                if batch >= batches {
                    return anyhow::Ok(());
                }
                let range = batch * BATCH..((batch + 1) * BATCH).min(users);
                let answer = client
                    .admin(
                        "accounts:batchCreate",
                        &json!({ "users": range.map(seeded_user).collect::<Vec<_>>() }),
                    )
                    .await?;
                if let Some(errors) = answer["error"].as_array().filter(|e| !e.is_empty()) {
                    bail!(
                        "batch {batch}: {} users refused: {}",
                        errors.len(),
                        errors[0]
                    );
                }
                if batch % 100 == 99 {
                    eprintln!("seeded {} users", (batch + 1) * BATCH);
                }
            }
        });
    }
    while let Some(task) = pool.join_next().await {
        task??;
    }
    Ok(Seeded {
        users,
        factors: 2 * users,
        wall: started.elapsed(),
        peak_rss: target.rss.as_ref().map(|r| r.peak()),
        rss_after: target.rss.as_ref().map(|r| r.now()),
    })
}

/// User `index`: a verified email and two phones enrolled as second factors. The local ids
/// (`seed` and a number) and the phone ranges stay clear of the phases' own users.
fn seeded_user(index: usize) -> Value {
    json!({
        "localId": format!("seed{index:08}"),
        "email": format!("seed-{index}@example.com"),
        "emailVerified": true,
        "mfaInfo": [
            { "phoneInfo": format!("+4420{:08}", index), "displayName": "mobile" },
            { "phoneInfo": format!("+4930{:08}", index), "displayName": "office" },
        ],
    })
}
