//! Token-signing keys.
//!
//! The first node to start generates an RSA-2048 key, seals its PKCS#8 form under the master
//! key and inserts it as generation 1; a node that loses that race simply loads the winner's
//! key, so every node signs with the same `kid`. The public half is published two ways, as
//! Firebase publishes its own: a JWK set and a map of `kid` to self-signed X.509 certificate.
//! The `kid` is the key's RFC 7638 thumbprint.

use std::collections::{BTreeMap, HashMap};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_RSA_SHA256};
use serde::Serialize;
use tessera_core::store::{SealedKind, SigningKeyRecord};
use tessera_core::{DomainError, Store};
use time::{Duration, OffsetDateTime};

use crate::crypto::Keyring;

const SEAL_PURPOSE: &str = SealedKind::SigningKey.purpose();
const ALGORITHM: &str = "RS256";

pub struct SigningKeys {
    active_kid: String,
    /// The active private key, parsed once. (jsonwebtoken's `encode` parses the DER on every
    /// call, and a freshly parsed key also recomputes its RSA blinding: together more than
    /// half of every signature's cost in profiles.)
    active: RsaKeyPair,
    pub(super) verifiers: HashMap<String, DecodingKey>,
    jwks: JwkSet,
    certificates: BTreeMap<String, String>,
}

impl SigningKeys {
    /// Loads the shared keys, generating the first one if the store has none.
    pub async fn load_or_create(
        store: &dyn Store,
        master: &Keyring,
        now: OffsetDateTime,
    ) -> Result<Self, DomainError> {
        let mut records = store.signing_keys().await?;
        if records.is_empty() {
            let fresh = generate(master, now).await?;
            if !store.insert_first_signing_key(&fresh).await? {
                tracing::info!("another node created the signing key first; using it");
            }
            records = store.signing_keys().await?;
        }
        Self::from_records(&records, master)
    }

    fn from_records(records: &[SigningKeyRecord], master: &Keyring) -> Result<Self, DomainError> {
        let mut active = None;
        let mut verifiers = HashMap::new();
        let mut keys = Vec::new();
        let mut certificates = BTreeMap::new();
        for record in records {
            let der = master
                .open(
                    &record.master_key_id,
                    SEAL_PURPOSE,
                    &record.sealed_private_key,
                )
                .map_err(|e| {
                    tracing::error!(kid = %record.kid, error = %e, "cannot open a signing key");
                    DomainError::Internal
                })?;
            let encoding =
                EncodingKey::from_rsa_pem(pkcs8_pem(&der).as_bytes()).map_err(internal)?;
            let jwk = public_jwk(&encoding, &record.kid)?;
            // Records arrive newest generation first; the newest signs, older ones only
            // verify tokens issued before it.
            if active.is_none() {
                let pair = RsaKeyPair::from_pkcs8(&der).map_err(internal)?;
                active = Some((record.kid.clone(), pair));
            }
            verifiers.insert(
                record.kid.clone(),
                DecodingKey::from_jwk(&jwk).map_err(internal)?,
            );
            certificates.insert(record.kid.clone(), record.certificate_pem.clone());
            keys.push(jwk);
        }
        let (active_kid, active) = active.ok_or(DomainError::Internal)?;
        Ok(Self {
            active_kid,
            active,
            verifiers,
            jwks: JwkSet { keys },
            certificates,
        })
    }

    /// The compact JWS (RFC 7515) of `claims`, RS256 under the active key, with the header
    /// Firebase's tokens carry: `{"alg":"RS256","kid":…,"typ":"JWT"}`.
    pub(super) fn sign_rs256(&self, claims: &impl Serialize) -> Result<String, DomainError> {
        let header = serde_json::json!({ "alg": ALGORITHM, "kid": self.active_kid, "typ": "JWT" });
        let part = |value: Vec<u8>| BASE64URL_NOPAD.encode(&value);
        let mut jws = format!(
            "{}.{}",
            part(serde_json::to_vec(&header).map_err(internal)?),
            part(serde_json::to_vec(claims).map_err(internal)?)
        );
        let mut signature = vec![0; self.active.public_modulus_len()];
        self.active
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                jws.as_bytes(),
                &mut signature,
            )
            .map_err(internal)?;
        jws.push('.');
        jws.push_str(&part(signature));
        Ok(jws)
    }

    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// `kid` → PEM certificate, the form of securetoken's x509 metadata endpoint.
    pub fn certificates(&self) -> &BTreeMap<String, String> {
        &self.certificates
    }
}

fn internal(e: impl std::fmt::Display) -> DomainError {
    tracing::error!(error = %e, "signing key handling failed");
    DomainError::Internal
}

fn pkcs8_pem(der: &[u8]) -> String {
    let body = data_encoding::BASE64.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn public_jwk(key: &EncodingKey, kid: &str) -> Result<Jwk, DomainError> {
    let mut jwk = Jwk::from_encoding_key(key, Algorithm::RS256).map_err(internal)?;
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
    Ok(jwk)
}

/// RSA key generation takes tens of milliseconds; it runs on the blocking pool.
async fn generate(master: &Keyring, now: OffsetDateTime) -> Result<SigningKeyRecord, DomainError> {
    let (der, certificate_pem, kid) =
        tokio::task::spawn_blocking(move || -> Result<_, DomainError> {
            let pair = KeyPair::generate_for(&PKCS_RSA_SHA256).map_err(internal)?;
            let encoding =
                EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes()).map_err(internal)?;
            let kid = Jwk::from_encoding_key(&encoding, Algorithm::RS256)
                .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256))
                .map_err(internal)?;
            let mut params = CertificateParams::new(Vec::<String>::new()).map_err(internal)?;
            let mut name = DistinguishedName::new();
            name.push(DnType::CommonName, "securetoken.system.gserviceaccount.com");
            params.distinguished_name = name;
            params.not_before = now - Duration::hours(1);
            params.not_after = now + Duration::days(3650);
            let certificate = params.self_signed(&pair).map_err(internal)?;
            Ok((pair.serialize_der(), certificate.pem(), kid))
        })
        .await
        .map_err(internal)??;
    let sealed = master.seal(SEAL_PURPOSE, &der).map_err(internal)?;
    Ok(SigningKeyRecord {
        kid,
        algorithm: ALGORITHM.to_owned(),
        master_key_id: sealed.master_key_id,
        sealed_private_key: sealed.bytes,
        certificate_pem,
        created_at: now,
    })
}
