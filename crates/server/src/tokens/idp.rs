//! The ID tokens of identity providers that sign users in (`signInWithIdp`). Dev mode takes
//! them as the Firebase emulator does: any JWT, its signature unchecked, or a JSON object of
//! claims. Production takes only providers an operator configured, each token signed by a key
//! the provider publishes (its JWK set, fetched and kept for an hour, fetched again for a key
//! it does not hold yet), issued by one of its issuers for one of the operator's client ids,
//! and not expired; a token that carries a `nonce` (Apple's, an OIDC provider's) only with
//! the raw nonce it was made for, as Firebase takes it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::sync::Mutex;
use url::Url;

use super::jwt_payload;
use crate::crypto::sha256;

/// How long a provider's published keys are used before they are fetched again.
const KEYS_KEPT: Duration = Duration::from_secs(3600);
/// How soon a token naming a key not held may fetch the keys again: forged key ids must not
/// make every request a fetch.
const REFETCH_AFTER: Duration = Duration::from_secs(30);
/// How far a token's expiry may lie behind this server's clock.
const CLOCK_SKEW_SECS: i64 = 60;

/// An identity provider an operator configured: its id (`google.com`, `oidc.corp`), the
/// `iss` values its tokens carry, the client ids they must be issued for (`aud`), and where
/// it publishes its keys.
#[derive(Debug, Clone)]
pub struct IdpProvider {
    pub provider_id: String,
    pub issuers: Vec<String>,
    pub client_ids: Vec<String>,
    pub jwks_uri: Url,
}

/// How identity providers' tokens are taken.
pub enum IdpTokens {
    /// As the emulator takes them (dev mode).
    Unchecked,
    /// Verified against the configured providers' keys.
    Verified(Box<Verifier>),
}

pub struct Verifier {
    providers: HashMap<String, Provider>,
    http: reqwest::Client,
}

struct Provider {
    config: IdpProvider,
    keys: Mutex<Option<FetchedKeys>>,
}

struct FetchedKeys {
    set: JwkSet,
    at: Instant,
}

/// A credential a client presents for an account at a provider (`signInWithIdp`'s
/// `postBody`).
#[derive(Debug, Clone, Copy)]
pub struct IdpCredential<'a> {
    pub provider_id: &'a str,
    pub id_token: Option<&'a str>,
    pub access_token: Option<&'a str>,
    /// The raw nonce the app made the provider's token for: the token's `nonce` claim must
    /// be its SHA-256 (hex), so that a token caught in transit is no use without it.
    pub nonce: Option<&'a str>,
}

/// What a provider says of an account: its claims as given, and those Tessera reads.
#[derive(Debug, Clone)]
pub struct IdpClaims {
    pub raw: Map<String, Value>,
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub picture: Option<String>,
    pub screen_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

/// Why a provider's token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdpTokenError {
    #[error("no such identity provider is configured")]
    NotConfigured,
    #[error("no id_token")]
    Missing,
    #[error("only an access token, which cannot be read")]
    AccessTokenOnly,
    #[error("the id_token is neither a JWT nor a JSON object")]
    Unparsable,
    #[error("the id_token is not a JWT")]
    NotJwt,
    /// The claims lack `sub` or have the wrong types; the detail says which.
    #[error("{0}")]
    Claims(&'static str),
    #[error("the signature, issuer, audience or expiry does not check out")]
    Unverified,
    #[error("the provider's keys could not be fetched")]
    KeysUnavailable,
    #[error("the id_token has a nonce and the request none")]
    NonceMissing,
    #[error("the id_token's nonce is not the SHA-256 of the request's")]
    NonceMismatch,
}

/// Firebase's rule: a token that carries a `nonce` is taken with the raw nonce whose
/// SHA-256, in lowercase hex, the claim is. A token without one needs none.
fn check_nonce(claims: &Map<String, Value>, raw: Option<&str>) -> Result<(), IdpTokenError> {
    let Some(claimed) = claims.get("nonce") else {
        return Ok(());
    };
    let raw = raw.ok_or(IdpTokenError::NonceMissing)?;
    let hashed = data_encoding::HEXLOWER.encode(&sha256(raw.as_bytes()));
    if claimed.as_str() == Some(hashed.as_str()) {
        Ok(())
    } else {
        Err(IdpTokenError::NonceMismatch)
    }
}

/// The claims Tessera reads, typed.
#[derive(Deserialize)]
struct Known {
    sub: Option<Value>,
    email: Option<String>,
    email_verified: Option<Value>,
    name: Option<String>,
    picture: Option<String>,
    screen_name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
}

impl IdpClaims {
    fn read(raw: Map<String, Value>) -> Result<Self, IdpTokenError> {
        let known: Known = serde_json::from_value(Value::Object(raw.clone()))
            .map_err(|_| IdpTokenError::Claims("The claims are not of the expected types."))?;
        let sub = match known.sub {
            Some(Value::String(sub)) if !sub.is_empty() => sub,
            Some(Value::String(_)) | None => {
                return Err(IdpTokenError::Claims(
                    "Invalid Idp Response: id_token missing required fields.",
                ));
            }
            Some(_) => {
                return Err(IdpTokenError::Claims("The \"sub\" field must be a string."));
            }
        };
        // Apple sends the string "true".
        let email_verified = match &known.email_verified {
            Some(Value::Bool(verified)) => *verified,
            Some(Value::String(verified)) => verified == "true",
            _ => false,
        };
        Ok(IdpClaims {
            raw,
            sub,
            email: known.email,
            email_verified,
            name: known.name,
            picture: known.picture,
            screen_name: known.screen_name,
            given_name: known.given_name,
            family_name: known.family_name,
        })
    }
}

impl IdpTokens {
    /// The providers configured, by id; none in dev mode, which takes any provider's tokens.
    pub fn provider_ids(&self) -> Vec<String> {
        match self {
            IdpTokens::Unchecked => Vec::new(),
            IdpTokens::Verified(verifier) => {
                let mut ids: Vec<String> = verifier.providers.keys().cloned().collect();
                ids.sort();
                ids
            }
        }
    }

    pub fn verified(providers: Vec<IdpProvider>) -> Self {
        let providers = providers
            .into_iter()
            .map(|config| {
                let provider = Provider {
                    config,
                    keys: Mutex::new(None),
                };
                (provider.config.provider_id.clone(), provider)
            })
            .collect();
        IdpTokens::Verified(Box::new(Verifier {
            providers,
            http: reqwest::Client::new(),
        }))
    }

    /// The claims of `credential`, if this server takes it at `now`.
    pub async fn read(
        &self,
        credential: IdpCredential<'_>,
        now: OffsetDateTime,
    ) -> Result<IdpClaims, IdpTokenError> {
        let IdpCredential {
            provider_id,
            id_token,
            access_token,
            nonce,
        } = credential;
        let verifier = match self {
            IdpTokens::Unchecked => {
                let raw = match (id_token, access_token) {
                    (Some(token), _) => unchecked(token).ok_or(IdpTokenError::Unparsable)?,
                    (None, Some(token)) => {
                        unchecked(token).ok_or(IdpTokenError::AccessTokenOnly)?
                    }
                    (None, None) => return Err(IdpTokenError::Missing),
                };
                return IdpClaims::read(raw);
            }
            IdpTokens::Verified(verifier) => verifier,
        };
        let provider = verifier
            .providers
            .get(provider_id)
            .ok_or(IdpTokenError::NotConfigured)?;
        let token = match (id_token, access_token) {
            (Some(token), _) => token,
            (None, Some(_)) => return Err(IdpTokenError::AccessTokenOnly),
            (None, None) => return Err(IdpTokenError::Missing),
        };
        let header = jsonwebtoken::decode_header(token).map_err(|_| IdpTokenError::NotJwt)?;
        let kid = header.kid.ok_or(IdpTokenError::Unverified)?;
        let key = verifier.key(provider, &kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["iss", "aud", "sub", "exp"]);
        validation.set_issuer(&provider.config.issuers);
        validation.set_audience(&provider.config.client_ids);
        let raw = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|_| IdpTokenError::Unverified)?
            .claims;
        let expires = raw.get("exp").and_then(Value::as_i64).unwrap_or_default();
        if expires + CLOCK_SKEW_SECS < now.unix_timestamp() {
            return Err(IdpTokenError::Unverified);
        }
        check_nonce(&raw, nonce)?;
        IdpClaims::read(raw)
    }
}

impl Verifier {
    /// The provider's key `kid`, from its keys as fetched, or fetched again when they are old
    /// or lack it (not sooner than `REFETCH_AFTER`).
    async fn key(&self, provider: &Provider, kid: &str) -> Result<DecodingKey, IdpTokenError> {
        let mut keys = provider.keys.lock().await;
        let held = keys.as_ref().and_then(|fetched| {
            let key = fetched.set.find(kid)?;
            (fetched.at.elapsed() < KEYS_KEPT).then_some(key)
        });
        if let Some(jwk) = held {
            return DecodingKey::from_jwk(jwk).map_err(|_| IdpTokenError::Unverified);
        }
        if keys
            .as_ref()
            .is_some_and(|fetched| fetched.at.elapsed() < REFETCH_AFTER)
        {
            return Err(IdpTokenError::Unverified);
        }
        let set = self.fetch(&provider.config).await?;
        let jwk = set.find(kid).cloned();
        *keys = Some(FetchedKeys {
            set,
            at: Instant::now(),
        });
        let jwk = jwk.ok_or(IdpTokenError::Unverified)?;
        DecodingKey::from_jwk(&jwk).map_err(|_| IdpTokenError::Unverified)
    }

    async fn fetch(&self, config: &IdpProvider) -> Result<JwkSet, IdpTokenError> {
        let fetched = async {
            self.http
                .get(config.jwks_uri.clone())
                .timeout(Duration::from_secs(10))
                .send()
                .await?
                .error_for_status()?
                .json::<JwkSet>()
                .await
        };
        fetched.await.map_err(|e| {
            tracing::warn!(provider = %config.provider_id, error = %e, "fetching an identity provider's keys failed");
            IdpTokenError::KeysUnavailable
        })
    }
}

/// The claims of a fake credential: a JSON object, or a JWT's payload, its signature
/// unchecked (the emulator's fake tokens are unsigned).
fn unchecked(token: &str) -> Option<Map<String, Value>> {
    if token.starts_with('{') {
        serde_json::from_str(token).ok()
    } else {
        jwt_payload(token)
    }
}
