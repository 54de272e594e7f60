//! The self-service page at `/ui/`: sign in with email and password plus a second factor when
//! one is enrolled, or with a passkey; list, add and remove second factors (authenticator app
//! with a QR code, security key, text-message and email codes) and passkeys. Server-rendered;
//! one small script for WebAuthn, served from the binary (no CDN). `/ui/action` is where emailed
//! action links (verify the address, reset the password) lead, `PASSKEY_REGISTRATION_PAGE`
//! where passkey registration links do, and `INVITE_PAGE` where invitations do.
//!
//! It is a client of the service layer like the dialects, and keeps no state of its own: the
//! visitor is a login session (see `visitor`).

mod action;
mod invite;
mod pages;
mod passkeys;
mod registration;
mod templates;
mod visitor;

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};

use crate::service::{INVITE_PAGE, PASSKEY_REGISTRATION_PAGE, Service};

pub fn router() -> Router<Arc<Service>> {
    Router::new()
        .route("/ui", get(pages::home))
        .route("/ui/", get(pages::home))
        .route("/ui/sign-in", get(pages::sign_in_page).post(pages::sign_in))
        .route("/ui/sign-out", post(pages::sign_out))
        .route("/ui/second-factor", get(pages::second_factor_page))
        .route("/ui/second-factor/totp", post(pages::check_totp))
        .route("/ui/second-factor/{channel}/send", post(pages::send_code))
        .route("/ui/second-factor/key/start", post(pages::key_challenge))
        .route("/ui/second-factor/key/finish", post(pages::key_check))
        .route("/ui/second-factor/{channel}", post(pages::check_code))
        .route("/ui/factors", get(pages::factors_page))
        .route("/ui/factors/remove", post(pages::remove_factor))
        .route("/ui/enrol/totp", post(pages::enrol_totp))
        .route("/ui/enrol/totp/verify", post(pages::verify_totp))
        .route("/ui/enrol/key/start", post(pages::enrol_key_start))
        .route("/ui/enrol/key/finish", post(pages::enrol_key_finish))
        .route("/ui/enrol/{channel}", post(pages::enrol_channel))
        .route("/ui/passkeys/start", post(passkeys::enrol_start))
        .route("/ui/passkeys/finish", post(passkeys::enrol_finish))
        .route("/ui/passkeys/remove", post(passkeys::remove))
        .route("/ui/sign-in/passkey/start", post(passkeys::sign_in_start))
        .route("/ui/sign-in/passkey/finish", post(passkeys::sign_in_finish))
        .route(
            PASSKEY_REGISTRATION_PAGE,
            get(registration::registration_page),
        )
        .route(
            &format!("{PASSKEY_REGISTRATION_PAGE}/start"),
            post(registration::registration_start),
        )
        .route(
            &format!("{PASSKEY_REGISTRATION_PAGE}/finish"),
            post(registration::registration_finish),
        )
        .route(
            INVITE_PAGE,
            get(invite::invite_page).post(invite::accept_invite),
        )
        .route("/ui/phone", post(pages::set_phone))
        .route("/ui/phone/verify", post(pages::verify_phone))
        .route(
            "/ui/action",
            get(action::action_page).post(action::use_action),
        )
        .route(
            "/ui/static/ui.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    include_str!("../../assets/ui.js"),
                )
            }),
        )
        .route(
            "/ui/static/ui.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    include_str!("../../assets/ui.css"),
                )
            }),
        )
}
