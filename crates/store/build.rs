//! `sqlx::migrate!` embeds the migrations it finds when the crate is built, and cargo
//! watches only the files it read: without this, a migration added to an existing checkout
//! is left out of the next build, and the server runs without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
