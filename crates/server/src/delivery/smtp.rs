//! Email over SMTP (lettre, rustls on aws-lc-rs, Mozilla's roots), configured by one URL:
//!
//! | `email.smtp_url`             | connection                               |
//! |------------------------------|------------------------------------------|
//! | `smtp://host[:25]`           | plain TCP, no TLS (a local relay)        |
//! | `smtp+starttls://host[:587]` | STARTTLS, required: no fallback to plain |
//! | `smtps://host[:465]`         | TLS from the first byte                  |
//!
//! `user:password@` before the host turns on AUTH (PLAIN or LOGIN); both parts are
//! percent-decoded, so a password may hold `@`, `:` or `/` written as `%40`, `%3A`, `%2F`.
//! The password lives only inside the transport: errors and `Debug` show the URL without it.
//!
//! Server certificates are checked against Mozilla's roots (webpki-roots), plus the
//! certificates in `email.smtp_ca_file` for a relay whose certificate an internal CA issued.
//! Certificates are never accepted unchecked, and `smtp+starttls://` never falls back to
//! plain text when the server does not offer STARTTLS.
//!
//! The transport keeps a small pool of connections, so a burst of codes does not pay a TLS
//! handshake each. lettre's pool spawns Tokio tasks when it is built and when it is dropped,
//! so it is built on first use (inside the runtime) and leaked if dropped outside one,
//! rather than panicking. SMTP's own reply classes decide retries: 4xx and lost connections
//! are temporary, 5xx permanent.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{
    Certificate, CertificateStore, Tls, TlsParameters, TlsParametersBuilder,
};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use percent_encoding::percent_decode_str;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tessera_core::delivery::{Email, EmailSender, SendError};
use url::{Host, Url};

use super::SetupError;

const URL_SETTING: &str = "email.smtp_url";
const CA_FILE_SETTING: &str = "email.smtp_ca_file";
/// SMTP servers may run content checks before accepting a message; allow them time.
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct SmtpEmail {
    builder: AsyncSmtpTransportBuilder,
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    /// The URL without its password, for `Debug`.
    endpoint: String,
}

/// How the connection is secured, from the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    Plain,
    StartTls,
    Implicit,
}

impl Security {
    fn parse(scheme: &str) -> Result<Self, SetupError> {
        match scheme {
            "smtp" => Ok(Security::Plain),
            "smtp+starttls" => Ok(Security::StartTls),
            "smtps" => Ok(Security::Implicit),
            _ => Err(SetupError::invalid(
                URL_SETTING,
                "the scheme must be smtp://, smtp+starttls:// or smtps://",
            )),
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Implicit => 465,
        }
    }

    /// `extra_roots` are trusted besides Mozilla's roots.
    fn tls(self, host: &str, extra_roots: &[Certificate]) -> Result<Tls, SetupError> {
        let parameters = || {
            let builder = TlsParameters::builder(host.to_owned())
                .certificate_store(CertificateStore::WebpkiRoots);
            extra_roots
                .iter()
                .cloned()
                .fold(builder, TlsParametersBuilder::add_root_certificate)
                .build_rustls()
                .map_err(|error| SetupError::invalid(URL_SETTING, format!("TLS setup: {error}")))
        };
        Ok(match self {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(parameters()?),
            Security::Implicit => Tls::Wrapper(parameters()?),
        })
    }
}

impl SmtpEmail {
    /// `url` is `email.smtp_url` (see the module documentation), `from` is `email.from`
    /// (`noreply@example.com` or `Example <noreply@example.com>`), `ca_file` is
    /// `email.smtp_ca_file`: a PEM file of root certificates to trust besides Mozilla's.
    pub fn new(url: &str, from: &str, ca_file: Option<&Path>) -> Result<Self, SetupError> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|_| SetupError::invalid("email.from", "not an email address"))?;
        let url =
            Url::parse(url).map_err(|error| SetupError::invalid(URL_SETTING, error.to_string()))?;
        let security = Security::parse(url.scheme())?;
        reject_extras(&url)?;
        let host = host(&url)?;
        let port = url.port().unwrap_or(security.default_port());
        let extra_roots = match ca_file {
            Some(path) => read_roots(path)?,
            None => Vec::new(),
        };
        if security == Security::Plain && !extra_roots.is_empty() {
            tracing::warn!("email.smtp_ca_file is not used: email.smtp_url is plain smtp://");
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(port)
            .tls(security.tls(&host, &extra_roots)?)
            .timeout(Some(TIMEOUT));
        if let Some(credentials) = credentials(&url)? {
            warn_if_exposed(security, &url);
            builder = builder.credentials(credentials);
        }
        Ok(Self {
            builder,
            transport: OnceLock::new(),
            from,
            endpoint: endpoint(&url, &host, port),
        })
    }

    fn transport(&self) -> &AsyncSmtpTransport<Tokio1Executor> {
        self.transport.get_or_init(|| self.builder.clone().build())
    }

    fn message(&self, to: &str, email: &Email) -> Result<Message, SendError> {
        let to = to
            .parse::<Mailbox>()
            .map_err(|_| SendError::Permanent("invalid recipient address".into()))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|error| SendError::Permanent(format!("cannot build the email: {error}")))
    }
}

/// lettre's `?tls=` query and a HELO name in the path are not part of our URL form; refusing
/// them beats silently sending in plain text to someone who wrote `?tls=required`.
fn reject_extras(url: &Url) -> Result<(), SetupError> {
    if url.query().is_some() || url.fragment().is_some() || !matches!(url.path(), "" | "/") {
        return Err(SetupError::invalid(
            URL_SETTING,
            "only scheme, user, password, host and port are allowed (use smtp+starttls:// or \
             smtps:// for TLS)",
        ));
    }
    Ok(())
}

/// Every certificate in the PEM file at `path`, each checked to be usable as a root, so a
/// wrong file stops the server at start-up rather than failing every message later.
fn read_roots(path: &Path) -> Result<Vec<Certificate>, SetupError> {
    let invalid = |reason: String| {
        SetupError::invalid(CA_FILE_SETTING, format!("{}: {reason}", path.display()))
    };
    let pem = std::fs::read(path).map_err(|error| invalid(format!("cannot read: {error}")))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(format!("not PEM: {error}")))?;
    if certificates.is_empty() {
        return Err(invalid("no CERTIFICATE in the file".to_owned()));
    }
    let unusable =
        |error: &dyn fmt::Display| invalid(format!("not a usable root certificate: {error}"));
    let mut check = RootCertStore::empty();
    certificates
        .into_iter()
        .map(|der| {
            check.add(der.clone()).map_err(|error| unusable(&error))?;
            Certificate::from_der(der.to_vec()).map_err(|error| unusable(&error))
        })
        .collect()
}

/// The host as lettre wants it: a name, or an IP address without brackets.
fn host(url: &Url) -> Result<String, SetupError> {
    match url.host() {
        Some(Host::Domain(name)) if !name.is_empty() => Ok(name.to_owned()),
        Some(Host::Ipv4(address)) => Ok(address.to_string()),
        Some(Host::Ipv6(address)) => Ok(address.to_string()),
        _ => Err(SetupError::invalid(URL_SETTING, "no host")),
    }
}

fn credentials(url: &Url) -> Result<Option<Credentials>, SetupError> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(None);
    }
    let user = percent_decoded(url.username())?;
    let password = percent_decoded(url.password().unwrap_or_default())?;
    Ok(Some(Credentials::new(user, password)))
}

fn percent_decoded(raw: &str) -> Result<String, SetupError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| SetupError::invalid(URL_SETTING, "user or password is not UTF-8"))
}

/// A password over plain TCP is fine to a relay on this machine, and a leak anywhere else.
fn warn_if_exposed(security: Security, url: &Url) {
    let local = match url.host() {
        Some(Host::Domain(name)) => name == "localhost",
        Some(Host::Ipv4(address)) => address.is_loopback(),
        Some(Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    };
    if security == Security::Plain && !local {
        tracing::warn!(
            "email.smtp_url sends the SMTP password without TLS; use smtp+starttls:// or smtps://"
        );
    }
}

/// `scheme://user@host:port`: what `Debug` shows instead of the URL.
fn endpoint(url: &Url, host: &str, port: u16) -> String {
    let user = match url.username() {
        "" => String::new(),
        user => format!("{user}@"),
    };
    format!("{}://{user}{host}:{port}", url.scheme())
}

/// 5xx replies and errors in our own request (no usable AUTH mechanism, a malformed
/// message, a server that does not offer the STARTTLS we require) will not pass later;
/// 4xx replies, connection, TLS and timeout errors may. A certificate we do not trust fails
/// the handshake, which lettre reports as a connection error: temporary on purpose, as for
/// the HTTP senders. Certificates change on the server's side (renewal, rotation), one host
/// behind the name may serve a stale one, an interception on the path may clear; retries stop
/// when the code expires, and the stored error tells the operator what is wrong.
fn classify(error: lettre::transport::smtp::Error) -> SendError {
    let message = format!("SMTP: {error}");
    if error.is_permanent() || error.is_client() {
        SendError::Permanent(message)
    } else {
        SendError::Temporary(message)
    }
}

#[async_trait]
impl EmailSender for SmtpEmail {
    async fn send_email(&self, to: &str, email: &Email) -> Result<(), SendError> {
        let message = self.message(to, email)?;
        self.transport()
            .send(message)
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

impl Drop for SmtpEmail {
    fn drop(&mut self) {
        // Without a runtime there is nothing to close the pooled connections with; the
        // process is ending anyway.
        if tokio::runtime::Handle::try_current().is_err()
            && let Some(transport) = self.transport.take()
        {
            std::mem::forget(transport);
        }
    }
}

impl fmt::Debug for SmtpEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpEmail")
            .field("endpoint", &self.endpoint)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}
