//! `accounts:signInWithIdp` (v3 `verifyAssertion`): signing in with, or linking, an account at
//! an identity provider. The credential comes as URL parameters, in the emulator's layout:
//! `requestUri`'s query, then `postBody` (a form), then `requestUri`'s fragment, the later
//! winning; `providerId` names the provider and `id_token` (or, in dev mode, `access_token`)
//! holds the account's claims (`sub` required; `email`, `email_verified`, `name`, `picture`,
//! `screen_name`, `given_name`, `family_name` used), taken as `IdpTokens` says: dev mode's
//! unchecked, production's verified against the configured provider's keys.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use tessera_core::{DomainError, EmailAddress, Identity};
use url::Url;

use super::accounts::realm_and_linking;
use super::error::ItError;
use super::extract::{Body, Caller};
use super::wire::{SignInWithIdpRequest, SignInWithIdpResponse};
use crate::service::{IdpAssertion, IdpOutcome, IdpUse, Service};
use crate::tokens::{IdpClaims, IdpCredential, IdpTokenError};

/// First factors that are not identity providers.
const NOT_PROVIDERS: [&str; 5] = ["password", "phone", "anonymous", "custom", "firebase"];

#[utoipa::path(post, path = "/v1/accounts:signInWithIdp", tag = "accounts",
    request_body = SignInWithIdpRequest, responses((status = 200, body = SignInWithIdpResponse)))]
pub async fn sign_in_with_idp(
    State(svc): State<Arc<Service>>,
    caller: Caller,
    Body(req): Body<SignInWithIdpRequest>,
) -> Result<Json<SignInWithIdpResponse>, ItError> {
    let credential =
        Credential::read(&svc, req.request_uri.as_deref(), req.post_body.as_deref()).await?;
    let tenant = req.tenant_id.as_deref();
    let (realm, linking) =
        realm_and_linking(&svc, &caller, tenant, req.id_token.as_deref()).await?;
    let purpose = match (&linking, req.auto_create) {
        (Some(me), _) => IdpUse::Link(me),
        (None, Some(false)) => IdpUse::SignIn,
        (None, _) => IdpUse::SignUpOrIn,
    };
    let mut reply = credential.reply();
    reply.tenant_id = realm.tenant_id.clone();
    let outcome = svc
        .sign_in_with_idp(&realm, &credential.assertion, purpose)
        .await;
    match outcome {
        Ok(IdpOutcome::SignedIn(signed_in)) => {
            let user = &signed_in.user;
            reply.local_id = Some(user.id.to_string());
            if user.email.is_some() && user.email == credential.assertion.email {
                reply.email_verified = user.email_verified;
            }
            reply.is_new_user = Some(signed_in.is_new);
            reply.email_recycled = signed_in.email_recycled.then_some(true);
            reply.outcome = signed_in.outcome.into();
        }
        Ok(IdpOutcome::NeedConfirmation { user }) => {
            reply.local_id = Some(user.id.to_string());
            reply.need_confirmation = Some(true);
            reply.verified_provider = Some(
                user.identities
                    .iter()
                    .map(|identity| identity.provider_id.clone())
                    .collect(),
            );
        }
        // The JS SDK turns the message into its error and keeps the credential with it, for
        // `credentialFromError`.
        Err(e @ (DomainError::IdentityLinked | DomainError::EmailExists))
            if req.return_idp_credential == Some(true) =>
        {
            reply.error_message = Some(ItError::from(e).message());
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Json(reply))
}

/// A provider's credential, read.
struct Credential {
    assertion: IdpAssertion,
    claims: IdpClaims,
    id_token: Option<String>,
    access_token: Option<String>,
}

impl Credential {
    async fn read(
        svc: &Service,
        request_uri: Option<&str>,
        post_body: Option<&str>,
    ) -> Result<Self, ItError> {
        let request_uri = request_uri
            .filter(|uri| !uri.is_empty())
            .ok_or(ItError::code("MISSING_REQUEST_URI"))?;
        let mut url = Url::parse(request_uri).map_err(|_| ItError::code("INVALID_REQUEST_URI"))?;
        let mut params: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let fragment = url.fragment().unwrap_or_default().to_owned();
        for form in [post_body.unwrap_or_default(), &fragment] {
            params.extend(url::form_urlencoded::parse(form.as_bytes()).into_owned());
        }
        url.set_fragment(None);
        let provider_id = params
            .get("providerId")
            .map(|p| p.to_lowercase())
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                ItError::with_detail(
                    "INVALID_CREDENTIAL_OR_PROVIDER_ID",
                    &format!("Invalid IdP response/credential: {url}"),
                )
            })?;
        if NOT_PROVIDERS.contains(&provider_id.as_str()) {
            return Err(ItError::with_detail(
                "INVALID_PROVIDER_ID",
                &format!("{provider_id} is not an identity provider."),
            ));
        }
        let id_token = params.remove("id_token").filter(|t| !t.is_empty());
        let access_token = params.remove("access_token").filter(|t| !t.is_empty());
        let nonce = params.get("nonce").filter(|n| !n.is_empty());
        let credential = IdpCredential {
            provider_id: &provider_id,
            id_token: id_token.as_deref(),
            access_token: access_token.as_deref(),
            nonce: nonce.map(String::as_str),
        };
        let claims = svc.read_idp_token(credential).await.map_err(refusal)?;
        let email = match claims.email.as_deref() {
            Some(raw) => Some(EmailAddress::parse(raw).ok_or(ItError::with_detail(
                "INVALID_IDP_RESPONSE",
                "The \"email\" field is not an email address.",
            ))?),
            None => None,
        };
        let assertion = IdpAssertion {
            identity: Identity {
                provider_id,
                raw_id: claims.sub.clone(),
                email: email.as_ref().map(ToString::to_string),
                display_name: claims.name.clone(),
                photo_url: claims.picture.clone(),
                screen_name: claims.screen_name.clone(),
            },
            email,
            email_verified: claims.email_verified,
        };
        Ok(Credential {
            assertion,
            claims,
            id_token,
            access_token,
        })
    }

    /// The answer's part that describes the provider's account.
    fn reply(&self) -> SignInWithIdpResponse {
        let identity = &self.assertion.identity;
        let provider_id = identity.provider_id.as_str();
        let google = provider_id == "google.com";
        let federated_id = if google {
            format!("https://accounts.google.com/{}", identity.raw_id)
        } else {
            identity.raw_id.clone()
        };
        let email = self.assertion.email.as_ref().map(ToString::to_string);
        let raw_user_info = if google {
            let mut scopes = "openid https://www.googleapis.com/auth/userinfo.profile".to_owned();
            if email.is_some() {
                scopes.push_str(" https://www.googleapis.com/auth/userinfo.email");
            }
            let mut profile = json!({
                "granted_scopes": scopes,
                "id": identity.raw_id,
                "name": identity.display_name,
                "given_name": self.claims.given_name,
                "family_name": self.claims.family_name,
                "verified_email": self.assertion.email_verified,
                "locale": "en",
                "email": email,
                "picture": identity.photo_url,
            });
            // What Google does not say is left out, not null.
            if let Some(fields) = profile.as_object_mut() {
                fields.retain(|_, value| !value.is_null());
            }
            profile
        } else {
            Value::Object(self.claims.raw.clone())
        };
        SignInWithIdpResponse {
            kind: "identitytoolkit#VerifyAssertionResponse",
            provider_id: provider_id.to_owned(),
            federated_id,
            email,
            email_verified: self.assertion.email_verified,
            display_name: identity.display_name.clone(),
            full_name: identity.display_name.clone(),
            first_name: self.claims.given_name.clone().filter(|_| google),
            last_name: self.claims.family_name.clone().filter(|_| google),
            photo_url: identity.photo_url.clone(),
            screen_name: identity.screen_name.clone(),
            raw_user_info: raw_user_info.to_string(),
            // Clients build most providers' credentials from an access token, so there is
            // always one, as in the emulator.
            oauth_access_token: self
                .access_token
                .clone()
                .unwrap_or_else(|| format!("TesseraFakeAccessToken_{provider_id}")),
            oauth_id_token: self.id_token.clone(),
            ..SignInWithIdpResponse::default()
        }
    }
}

/// A refused credential as Firebase answers it.
fn refusal(e: IdpTokenError) -> ItError {
    let detail = match e {
        IdpTokenError::NotConfigured => return DomainError::IdpNotConfigured.into(),
        IdpTokenError::KeysUnavailable => return DomainError::Unavailable.into(),
        IdpTokenError::Missing => "An id_token is required.",
        IdpTokenError::AccessTokenOnly => "Only an id_token credential is accepted.",
        IdpTokenError::Unparsable => "Unable to parse id_token: not a JWT or a JSON object.",
        IdpTokenError::NotJwt => "Unable to parse id_token: not a JWT.",
        IdpTokenError::Claims(detail) => detail,
        IdpTokenError::Unverified => {
            "The id_token's signature, issuer, audience or expiry does not check out."
        }
        IdpTokenError::NonceMissing => {
            return ItError::with_detail(
                "MISSING_OR_INVALID_NONCE",
                "Nonce is missing in the request.",
            );
        }
        IdpTokenError::NonceMismatch => {
            return ItError::with_detail(
                "MISSING_OR_INVALID_NONCE",
                "The nonce in ID Token does not match the SHA256 hash of the raw nonce in the request.",
            );
        }
    };
    ItError::with_detail("INVALID_IDP_RESPONSE", detail)
}
