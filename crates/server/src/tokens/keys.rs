//! Token-signing keys.
//!
//! The first node to start with a given algorithm generates a key for it (RSA-2048 for RS256,
//! P-256 for ES256), seals its PKCS#8 form under the master key and inserts it as the next
//! generation; a node that loses that race simply loads the winner's key, so every node signs
//! with the same `kid`. The public halves of all keys, of both algorithms, are published two
//! ways, as Firebase publishes its own: a JWK set and a map of `kid` to self-signed X.509
//! certificate, so tokens signed before a change of algorithm still verify. The `kid` is the
//! key's RFC 7638 thumbprint.

use std::collections::{BTreeMap, HashMap};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256,
};
use serde::{Deserialize, Serialize};
use tessera_core::store::{SealedKind, SigningKeyRecord};
use tessera_core::{DomainError, Store};
use time::{Duration, OffsetDateTime};

use crate::crypto::Keyring;

const SEAL_PURPOSE: &str = SealedKind::SigningKey.purpose();

/// The JWS algorithm of ID tokens. RS256 is the default because it is what Firebase's own
/// verifiers accept (firebase-admin's `verifyIdToken` takes nothing else). ES256 signs over ten
/// times cheaper (`openssl speed`: 47,000 against 3,700 sign/s a core here), for deployments
/// whose verifiers read the JWK set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum TokenAlgorithm {
    #[default]
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "ES256")]
    Es256,
}

impl TokenAlgorithm {
    /// The JWS `alg` name, also what the store records for each key.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAlgorithm::Rs256 => "RS256",
            TokenAlgorithm::Es256 => "ES256",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        [TokenAlgorithm::Rs256, TokenAlgorithm::Es256]
            .into_iter()
            .find(|a| a.as_str() == stored)
    }

    fn jwt(self) -> Algorithm {
        match self {
            TokenAlgorithm::Rs256 => Algorithm::RS256,
            TokenAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

/// The private key that signs, parsed once. (jsonwebtoken's `encode` parses the DER on every
/// call, and a freshly parsed RSA key also recomputes its blinding: together more than half of
/// every RS256 signature's cost in profiles.)
enum ActiveKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

pub struct SigningKeys {
    active_kid: String,
    algorithm: TokenAlgorithm,
    active: ActiveKey,
    /// Every key by `kid`, with the one algorithm a token under it may name.
    pub(super) verifiers: HashMap<String, (DecodingKey, Algorithm)>,
    jwks: JwkSet,
    certificates: BTreeMap<String, String>,
}

impl SigningKeys {
    /// Loads the shared keys, generating the first one of `algorithm` if the store has none.
    pub async fn load_or_create(
        store: &dyn Store,
        master: &Keyring,
        now: OffsetDateTime,
        algorithm: TokenAlgorithm,
    ) -> Result<Self, DomainError> {
        let mut records = store.signing_keys().await?;
        // Each round either finds a key of the algorithm or lost an insert race to another
        // node's new key (of any algorithm); three rounds cover nodes started together.
        for _ in 0..3 {
            if records.iter().any(|r| r.algorithm == algorithm.as_str()) {
                break;
            }
            let fresh = generate(master, now, algorithm).await?;
            if !store.insert_signing_key_if_missing(&fresh).await? {
                tracing::info!("another node created a signing key first; reloading");
            }
            records = store.signing_keys().await?;
        }
        Self::from_records(&records, master, algorithm)
    }

    fn from_records(
        records: &[SigningKeyRecord],
        master: &Keyring,
        algorithm: TokenAlgorithm,
    ) -> Result<Self, DomainError> {
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
            let Some(its_algorithm) = TokenAlgorithm::parse(&record.algorithm) else {
                return Err(internal(format!(
                    "signing key {} has unknown algorithm {}",
                    record.kid, record.algorithm
                )));
            };
            let jwk = public_jwk(&der, Some(&record.kid), its_algorithm)?;
            // Records arrive newest generation first; the newest of the configured algorithm
            // signs, all others only verify tokens issued under them.
            if active.is_none() && its_algorithm == algorithm {
                active = Some((record.kid.clone(), private_key(&der, algorithm)?));
            }
            verifiers.insert(
                record.kid.clone(),
                (
                    DecodingKey::from_jwk(&jwk).map_err(internal)?,
                    its_algorithm.jwt(),
                ),
            );
            certificates.insert(record.kid.clone(), record.certificate_pem.clone());
            keys.push(jwk);
        }
        let (active_kid, active) = active.ok_or(DomainError::Internal)?;
        Ok(Self {
            active_kid,
            algorithm,
            active,
            verifiers,
            jwks: JwkSet { keys },
            certificates,
        })
    }

    /// Whether a signature costs little enough to compute on the async worker: an ES256
    /// signature takes tens of microseconds, about what a hand-off to the blocking pool costs;
    /// an RS256 one about a millisecond.
    pub(super) fn signs_cheaply(&self) -> bool {
        matches!(self.active, ActiveKey::Ec(_))
    }

    /// The compact JWS (RFC 7515) of `claims` under the active key, with the header Firebase's
    /// tokens carry: `{"alg":…,"kid":…,"typ":"JWT"}`.
    pub(super) fn sign(&self, claims: &impl Serialize) -> Result<String, DomainError> {
        let header = serde_json::json!({
            "alg": self.algorithm.as_str(),
            "kid": self.active_kid,
            "typ": "JWT",
        });
        let part = |value: &[u8]| BASE64URL_NOPAD.encode(value);
        let mut jws = format!(
            "{}.{}",
            part(&serde_json::to_vec(&header).map_err(internal)?),
            part(&serde_json::to_vec(claims).map_err(internal)?)
        );
        let rng = SystemRandom::new();
        let signature = match &self.active {
            ActiveKey::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, jws.as_bytes(), &mut signature)
                    .map_err(internal)?;
                signature
            }
            // The FIXED encoding is JWS's: r and s, 32 bytes each (RFC 7518 §3.4).
            ActiveKey::Ec(pair) => pair
                .sign(&rng, jws.as_bytes())
                .map_err(internal)?
                .as_ref()
                .to_vec(),
        };
        jws.push('.');
        jws.push_str(&part(&signature));
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

fn private_key(der: &[u8], algorithm: TokenAlgorithm) -> Result<ActiveKey, DomainError> {
    Ok(match algorithm {
        TokenAlgorithm::Rs256 => ActiveKey::Rsa(RsaKeyPair::from_pkcs8(der).map_err(internal)?),
        TokenAlgorithm::Es256 => ActiveKey::Ec(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).map_err(internal)?,
        ),
    })
}

/// The public JWK of a PKCS#8 private key, named `kid` (unnamed to compute a thumbprint).
fn public_jwk(
    der: &[u8],
    kid: Option<&str>,
    algorithm: TokenAlgorithm,
) -> Result<Jwk, DomainError> {
    let pem = pkcs8_pem(der);
    let key = match algorithm {
        TokenAlgorithm::Rs256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        TokenAlgorithm::Es256 => EncodingKey::from_ec_pem(pem.as_bytes()),
    }
    .map_err(internal)?;
    let mut jwk = Jwk::from_encoding_key(&key, algorithm.jwt()).map_err(internal)?;
    jwk.common.key_id = kid.map(str::to_owned);
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok(jwk)
}

/// Key generation (tens of milliseconds for RSA) runs on the blocking pool.
async fn generate(
    master: &Keyring,
    now: OffsetDateTime,
    algorithm: TokenAlgorithm,
) -> Result<SigningKeyRecord, DomainError> {
    let (der, certificate_pem, kid) =
        tokio::task::spawn_blocking(move || -> Result<_, DomainError> {
            let pair = match algorithm {
                TokenAlgorithm::Rs256 => KeyPair::generate_for(&PKCS_RSA_SHA256),
                TokenAlgorithm::Es256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256),
            }
            .map_err(internal)?;
            let der = pair.serialize_der();
            let kid = public_jwk(&der, None, algorithm)?
                .thumbprint(ThumbprintHash::SHA256)
                .map_err(internal)?;
            let mut params = CertificateParams::new(Vec::<String>::new()).map_err(internal)?;
            let mut name = DistinguishedName::new();
            name.push(DnType::CommonName, "securetoken.system.gserviceaccount.com");
            params.distinguished_name = name;
            params.not_before = now - Duration::hours(1);
            params.not_after = now + Duration::days(3650);
            let certificate = params.self_signed(&pair).map_err(internal)?;
            Ok((der, certificate.pem(), kid))
        })
        .await
        .map_err(internal)??;
    let sealed = master.seal(SEAL_PURPOSE, &der).map_err(internal)?;
    Ok(SigningKeyRecord {
        kid,
        algorithm: algorithm.as_str().to_owned(),
        master_key_id: sealed.master_key_id,
        sealed_private_key: sealed.bytes,
        certificate_pem,
        created_at: now,
    })
}

#[cfg(test)]
impl SigningKeys {
    /// A store-less key set with one fresh key of `algorithm`.
    pub(crate) async fn fresh(algorithm: TokenAlgorithm) -> Result<Self, DomainError> {
        let master =
            Keyring::from(crate::crypto::MasterKey::new("test", &[7; 32]).map_err(internal)?);
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).map_err(internal)?;
        let record = generate(&master, now, algorithm).await?;
        Self::from_records(&[record], &master, algorithm)
    }
}
