//! The delivery senders driven directly against real servers (the sinks): what goes over the
//! wire, how failures are classified, that error text and `Debug` output keep secrets and
//! codes out; and the message templates (languages, overrides, escaping).

use std::time::Duration;

use axum::http::StatusCode;
use data_encoding::HEXLOWER;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use tessera_core::delivery::{
    Email, EmailSender, MessageContent, MessageKind, SendError, SmsSender,
};
use tessera_server::delivery::{
    DevOutbox, SIGNATURE_HEADER, SmtpEmail, TemplateError, Templates, TwilioSms, WebhookSms,
};

use crate::sinks::{HttpSink, SinkTls, SmtpSink, extract_code};

const WAIT: Duration = Duration::from_secs(10);
const CODE: &str = "493817";
const PHONE: &str = "+15555550100";
/// An action link as Identity Toolkit builds them: its `&` must be escaped in HTML.
const LINK: &str = "https://auth.tessera.test/__/auth/action?mode=action&oobCode=kG5xT2&lang=de";
const CODE_KINDS: [MessageKind; 3] = [
    MessageKind::Enrol,
    MessageKind::SignIn,
    MessageKind::VerifyContact,
];
/// Sent by email only, with a link instead of a code to type.
const LINK_KINDS: [MessageKind; 5] = [
    MessageKind::VerifyEmail,
    MessageKind::ResetPassword,
    MessageKind::ChangeEmail,
    MessageKind::SignInLink,
    MessageKind::RecoverEmail,
];
/// The address a recovery link's notice says the account was changed to.
const NEW_EMAIL: &str = "mallory@example.com";

/// A message of `kind`, with a link if the kind carries one.
fn content(kind: MessageKind, locale: Option<&str>) -> MessageContent {
    MessageContent {
        kind,
        code: CODE.into(),
        locale: locale.map(str::to_owned),
        valid_minutes: 5,
        session_info: None,
        link: LINK_KINDS.contains(&kind).then(|| LINK.to_owned()),
        new_email: Some(NEW_EMAIL.to_owned()),
        app_name: None,
    }
}

fn templates() -> Templates {
    Templates::load(None).unwrap()
}

fn sign_in_email() -> Email {
    templates().render_email(&content(MessageKind::SignIn, None), "Tessera")
}

/// A port nothing listens on (bound, then released).
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn is_temporary(result: &Result<(), SendError>) -> bool {
    matches!(result, Err(SendError::Temporary(_)))
}

fn is_permanent(result: &Result<(), SendError>) -> bool {
    matches!(result, Err(SendError::Permanent(_)))
}

/// Error text is stored and shown to operators: never the code nor any secret.
fn assert_clean(result: &Result<(), SendError>, secrets: &[&str]) {
    let text = result.as_ref().unwrap_err().to_string();
    for secret in secrets.iter().chain([&CODE]) {
        assert!(!text.contains(secret), "{secret:?} leaked into {text:?}");
    }
}

// --- webhook ----------------------------------------------------------------------------

#[tokio::test]
async fn webhook_posts_json_signed_over_the_exact_body() {
    let sink = HttpSink::start().await;
    let sms = WebhookSms::new(&sink.url("/hooks/sms"), "webhook-secret").unwrap();

    sms.send_sms(PHONE, "493817 is your code", CODE)
        .await
        .unwrap();

    let request = sink.next_request(WAIT).await;
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/sms");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.json(),
        json!({"to": PHONE, "body": "493817 is your code", "code": CODE})
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"webhook-secret").unwrap();
    mac.update(&request.body);
    let expected = format!("sha256={}", HEXLOWER.encode(&mac.finalize().into_bytes()));
    assert_eq!(request.header(SIGNATURE_HEADER), Some(expected.as_str()));
    assert_eq!(sink.requests().len(), 1);
}

#[tokio::test]
async fn webhook_statuses_are_classified_and_errors_hold_no_secrets() {
    let sink = HttpSink::start().await;
    let sms = WebhookSms::new(&sink.url("/sms?token=url-token"), "webhook-secret").unwrap();
    let secrets = ["webhook-secret", "url-token"];

    for (status, temporary) in [
        (StatusCode::SERVICE_UNAVAILABLE, true),
        (StatusCode::INTERNAL_SERVER_ERROR, true),
        (StatusCode::TOO_MANY_REQUESTS, true),
        (StatusCode::REQUEST_TIMEOUT, true),
        (StatusCode::BAD_REQUEST, false),
        (StatusCode::UNAUTHORIZED, false),
        (StatusCode::FOUND, false),
    ] {
        sink.fail_next(1, status);
        let result = sms.send_sms(PHONE, "body", CODE).await;
        assert_eq!(is_temporary(&result), temporary, "{status}: {result:?}");
        assert_eq!(is_permanent(&result), !temporary, "{status}: {result:?}");
        assert_clean(&result, &secrets);
    }
    sink.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        sms.send_sms(PHONE, "body", CODE).await,
        Err(SendError::Temporary("HTTP 503 from webhook".into()))
    );
    sms.send_sms(PHONE, "body", CODE).await.unwrap();
    let requests = sink.requests();
    assert_eq!(requests.len(), 9);
    assert_eq!(requests[0].query.as_deref(), Some("token=url-token"));
}

#[tokio::test]
async fn an_unreachable_webhook_is_a_temporary_failure() {
    let url = format!(
        "http://127.0.0.1:{}/sms?token=url-token",
        closed_port().await
    );
    let sms = WebhookSms::new(&url, "webhook-secret").unwrap();

    let result = sms.send_sms(PHONE, "body", CODE).await;

    assert!(is_temporary(&result), "{result:?}");
    assert_clean(&result, &["webhook-secret", "url-token"]);
}

// --- Twilio -----------------------------------------------------------------------------

#[tokio::test]
async fn twilio_gets_a_form_with_basic_auth_on_the_messages_path() {
    let sink = HttpSink::start().await;
    sink.reply_always(
        StatusCode::CREATED,
        json!({"sid": "SM1", "status": "queued"}),
    );
    let sms = TwilioSms::new(
        Some(&sink.url("/compat/")),
        "AC123",
        "auth-token",
        "+15550001111",
    )
    .unwrap();

    sms.send_sms(PHONE, "493817 is your code", CODE)
        .await
        .unwrap();

    let request = sink.next_request(WAIT).await;
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        "/compat/2010-04-01/Accounts/AC123/Messages.json"
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.basic_auth(),
        Some(("AC123".to_owned(), "auth-token".to_owned()))
    );
    let form = request.form();
    assert_eq!(form.len(), 3, "{form:?}");
    assert_eq!(form["To"], PHONE);
    assert_eq!(form["From"], "+15550001111");
    assert_eq!(form["Body"], "493817 is your code");
}

#[tokio::test]
async fn twilio_refusals_keep_the_error_code_but_not_the_message() {
    let sink = HttpSink::start().await;
    let sms = TwilioSms::new(Some(&sink.url("")), "AC123", "auth-token", "+15550001111").unwrap();

    sink.reply_next(
        StatusCode::BAD_REQUEST,
        json!({"code": 21211, "message": "The 'To' number in '493817' is not valid", "status": 400}),
    );
    let result = sms.send_sms(PHONE, "body", CODE).await;
    assert_eq!(
        result,
        Err(SendError::Permanent(
            "HTTP 400 from Twilio (error 21211)".into()
        ))
    );

    sink.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    let result = sms.send_sms(PHONE, "body", CODE).await;
    assert!(is_temporary(&result), "{result:?}");
    assert_clean(&result, &["auth-token"]);

    let offline = format!("http://127.0.0.1:{}", closed_port().await);
    let sms = TwilioSms::new(Some(&offline), "AC123", "auth-token", "+15550001111").unwrap();
    let result = sms.send_sms(PHONE, "body", CODE).await;
    assert!(is_temporary(&result), "{result:?}");
    assert_clean(&result, &["auth-token"]);
}

// --- setup and Debug --------------------------------------------------------------------

#[test]
fn bad_settings_are_refused_at_setup() {
    assert!(WebhookSms::new("ftp://example.com/sms", "s").is_err());
    assert!(WebhookSms::new("not a url", "s").is_err());
    assert!(WebhookSms::new("https://example.com/sms", "").is_err());
    assert!(TwilioSms::new(None, "", "token", "+15550001111").is_err());
    assert!(TwilioSms::new(None, "AC1", "", "+15550001111").is_err());
    assert!(TwilioSms::new(Some("https://u:p@example.com"), "AC1", "t", "+1555").is_err());
    let smtp_error = |url: &str| SmtpEmail::new(url, "noreply@example.com", None).unwrap_err();
    for url in [
        "http://mail.example.com",
        "smtp://",
        "smtp://mail.example.com?tls=required",
        "smtp://mail.example.com/helo.example.com",
    ] {
        smtp_error(url);
    }
    let error = smtp_error("smtp://user:hunter2@mail.example.com:25?tls=required").to_string();
    assert!(
        error.contains("email.smtp_url") && !error.contains("hunter2"),
        "{error}"
    );
    assert!(SmtpEmail::new("smtp://mail.example.com", "not an address", None).is_err());
}

#[test]
fn debug_output_holds_no_secrets() {
    let webhook = WebhookSms::new("https://hooks.example.com/sms/path-token", "webhook-secret");
    let twilio = TwilioSms::new(None, "AC123", "auth-token", "+15550001111");
    let smtp = SmtpEmail::new(
        "smtps://mailer:smtp-password@mail.example.com",
        "Tessera <noreply@example.com>",
        None,
    );
    let outputs = [
        format!("{:?}", webhook.unwrap()),
        format!("{:?}", twilio.unwrap()),
        format!("{:?}", smtp.unwrap()),
    ];
    for output in &outputs {
        for secret in [
            "path-token",
            "webhook-secret",
            "auth-token",
            "smtp-password",
        ] {
            assert!(!output.contains(secret), "{secret} in {output}");
        }
    }
    assert!(outputs[0].contains("hooks.example.com"), "{}", outputs[0]);
    assert!(outputs[1].contains("https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"));
    assert!(
        outputs[2].contains("smtps://mailer@mail.example.com:465"),
        "{}",
        outputs[2]
    );
}

#[tokio::test]
async fn the_dev_outbox_sends_nothing_and_succeeds() {
    DevOutbox.send_sms(PHONE, "body", CODE).await.unwrap();
    DevOutbox
        .send_email("user@example.com", &sign_in_email())
        .await
        .unwrap();
}

// --- SMTP -------------------------------------------------------------------------------

#[tokio::test]
async fn smtp_delivers_text_and_html_alternatives() {
    let sink = SmtpSink::start().await;
    assert_eq!(sink.url(), format!("smtp://127.0.0.1:{}", sink.port()));
    let smtp = SmtpEmail::new(&sink.url(), "Tessera <noreply@tessera.test>", None).unwrap();
    let email = sign_in_email();

    smtp.send_email("user@example.com", &email).await.unwrap();

    let mail = sink.next_message(WAIT).await;
    assert_eq!(mail.mail_from, "noreply@tessera.test");
    assert_eq!(mail.rcpt_to, ["user@example.com"]);
    assert_eq!(mail.from, "Tessera <noreply@tessera.test>");
    assert_eq!(mail.to, "user@example.com");
    assert_eq!(mail.subject, "Your Tessera sign-in code");
    assert_eq!(mail.text.trim_end(), email.text.trim_end());
    assert_eq!(mail.html.trim_end(), email.html.trim_end());
    assert!(mail.raw.contains("multipart/alternative"), "{}", mail.raw);
    assert_eq!(mail.code(), CODE);
    assert_eq!(mail.auth_login, None);
    assert_eq!(mail.tls, None);
}

#[tokio::test]
async fn smtp_authenticates_with_percent_decoded_credentials() {
    let password = "p@ss:w/rd %";
    let sink = SmtpSink::start_with_auth("mailer@tessera.test", password).await;
    let url = sink.url_with_credentials("mailer@tessera.test", password);
    let smtp = SmtpEmail::new(&url, "noreply@tessera.test", None).unwrap();

    smtp.send_email("user@example.com", &sign_in_email())
        .await
        .unwrap();

    let mail = sink.next_message(WAIT).await;
    assert_eq!(mail.auth_login.as_deref(), Some("mailer@tessera.test"));
    assert_eq!(mail.code(), CODE);

    let wrong = sink.url_with_credentials("mailer@tessera.test", "wrong-password");
    let smtp = SmtpEmail::new(&wrong, "noreply@tessera.test", None).unwrap();
    let result = smtp.send_email("user@example.com", &sign_in_email()).await;
    assert!(is_permanent(&result), "{result:?}");
    assert_clean(&result, &["wrong-password"]);
}

#[tokio::test]
async fn smtp_replies_and_lost_connections_are_classified() {
    let sink = SmtpSink::start().await;
    let smtp = SmtpEmail::new(&sink.url(), "noreply@tessera.test", None).unwrap();
    let email = sign_in_email();

    let rejected = smtp.send_email("reject@example.com", &email).await;
    assert!(is_permanent(&rejected), "{rejected:?}");
    assert!(rejected.unwrap_err().to_string().contains("550"));
    let deferred = smtp.send_email("defer@example.com", &email).await;
    assert!(is_temporary(&deferred), "{deferred:?}");
    let invalid = smtp.send_email("not an address", &email).await;
    assert!(is_permanent(&invalid), "{invalid:?}");
    smtp.send_email("user@example.com", &email).await.unwrap();
    assert_eq!(sink.next_message(WAIT).await.rcpt_to, ["user@example.com"]);

    let offline = format!("smtp://127.0.0.1:{}", closed_port().await);
    let smtp = SmtpEmail::new(&offline, "noreply@tessera.test", None).unwrap();
    let result = smtp.send_email("user@example.com", &email).await;
    assert!(is_temporary(&result), "{result:?}");
    assert_clean(&result, &[]);
}

// --- SMTP over TLS ----------------------------------------------------------------------

const TLS_PASSWORD: &str = "tls-password";

/// A sink speaking `tls` with a certificate from its own CA, requiring AUTH (which the
/// STARTTLS sink accepts only once TLS is up).
async fn tls_sink(tls: SinkTls) -> SmtpSink {
    SmtpSink::start_tls(tls, Some(("mailer", TLS_PASSWORD))).await
}

/// A code delivered with AUTH over `tls` to a server whose certificate the sender trusts only
/// through `email.smtp_ca_file`.
async fn delivers_with_auth_over(tls: SinkTls, scheme: &str) {
    let sink = tls_sink(tls).await;
    let url = sink.url_with_credentials("mailer", TLS_PASSWORD);
    assert!(url.starts_with(scheme), "{url}");
    let smtp = SmtpEmail::new(&url, "noreply@tessera.test", Some(&sink.ca_file())).unwrap();

    smtp.send_email("user@example.com", &sign_in_email())
        .await
        .unwrap();

    let mail = sink.next_message(WAIT).await;
    assert!(
        matches!(mail.tls.as_deref(), Some("TLSv1.2" | "TLSv1.3")),
        "{:?}",
        mail.tls
    );
    assert_eq!(mail.auth_login.as_deref(), Some("mailer"));
    assert_eq!(mail.rcpt_to, ["user@example.com"]);
    assert_eq!(mail.code(), CODE);
}

#[tokio::test]
async fn smtp_starttls_delivers_with_auth_to_a_server_of_the_configured_ca() {
    delivers_with_auth_over(SinkTls::StartTls, "smtp+starttls://").await;
}

#[tokio::test]
async fn smtps_delivers_with_auth_to_a_server_of_the_configured_ca() {
    delivers_with_auth_over(SinkTls::Implicit, "smtps://").await;
}

/// Temporary, like every TLS failure (see `classify` in the SMTP sender): certificates change
/// on the server's side (renewal, rotation, one stale host behind the name), retries stop when
/// the code expires, and the stored error tells the operator what is wrong.
#[tokio::test]
async fn an_untrusted_smtp_server_certificate_is_a_temporary_failure() {
    let other = SmtpSink::start_tls(SinkTls::Implicit, None).await;
    for tls in [SinkTls::StartTls, SinkTls::Implicit] {
        let sink = tls_sink(tls).await;
        let url = sink.url_with_credentials("mailer", TLS_PASSWORD);
        // Mozilla's roots only, then another CA of the same name: neither issued the sink's
        // certificate (UnknownIssuer, then BadSignature).
        for ca_file in [None, Some(other.ca_file())] {
            let smtp = SmtpEmail::new(&url, "noreply@tessera.test", ca_file.as_deref()).unwrap();

            let result = smtp.send_email("user@example.com", &sign_in_email()).await;

            assert!(is_temporary(&result), "{tls:?} {ca_file:?}: {result:?}");
            let text = result.as_ref().unwrap_err().to_string();
            assert!(text.contains("invalid peer certificate"), "{text}");
            assert_clean(&result, &[TLS_PASSWORD]);
        }
    }
}

#[tokio::test]
async fn smtp_starttls_never_falls_back_to_plain_text() {
    // A plain server that offers AUTH in the clear and no STARTTLS.
    let sink = SmtpSink::start_with_auth("mailer", TLS_PASSWORD).await;
    let url = format!(
        "smtp+starttls://mailer:{TLS_PASSWORD}@127.0.0.1:{}",
        sink.port()
    );
    let smtp = SmtpEmail::new(&url, "noreply@tessera.test", None).unwrap();

    let result = smtp.send_email("first@example.com", &sign_in_email()).await;

    // lettre stops before AUTH and MAIL, with an error in our own request (client error):
    // permanent, as a server without STARTTLS is the wrong server or port for this URL.
    assert!(is_permanent(&result), "{result:?}");
    let text = result.as_ref().unwrap_err().to_string();
    assert!(text.contains("STARTTLS"), "{text}");
    assert_clean(&result, &[TLS_PASSWORD]);
    // The sink reports messages in order: if the first had gone out in plain text, it would
    // come before this one.
    let plain = sink.url_with_credentials("mailer", TLS_PASSWORD);
    let plain = SmtpEmail::new(&plain, "noreply@tessera.test", None).unwrap();
    plain
        .send_email("second@example.com", &sign_in_email())
        .await
        .unwrap();
    assert_eq!(
        sink.next_message(WAIT).await.rcpt_to,
        ["second@example.com"]
    );
}

#[test]
fn an_unusable_smtp_ca_file_is_refused_at_setup() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.pem", "");
    write(dir.path(), "text.pem", "no PEM here\n");
    let pem = |base64: &str| {
        format!("-----BEGIN CERTIFICATE-----\n{base64}\n-----END CERTIFICATE-----\n")
    };
    write(dir.path(), "not-base64.pem", &pem("!!!!"));
    write(dir.path(), "not-a-certificate.pem", &pem("AAAA"));
    for file in [
        "missing.pem",
        "empty.pem",
        "text.pem",
        "not-base64.pem",
        "not-a-certificate.pem",
    ] {
        let path = dir.path().join(file);
        for url in [
            "smtps://mailer:hunter2@mail.example.com",
            "smtp://mail.example.com",
        ] {
            let error = SmtpEmail::new(url, "noreply@example.com", Some(&path))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("email.smtp_ca_file") && error.contains(file),
                "{error}"
            );
            assert!(!error.contains("hunter2"), "{error}");
        }
    }
}

// --- templates --------------------------------------------------------------------------

#[test]
fn english_is_built_in_and_codes_come_first_in_sms() {
    let sms = templates().render_sms(&content(MessageKind::SignIn, None), "Tessera");
    assert_eq!(
        sms,
        "493817 is your Tessera verification code. It expires in 5 minutes. Do not share it."
    );
    let email = sign_in_email();
    assert_eq!(email.subject, "Your Tessera sign-in code");
    assert_eq!(extract_code(&email.text).as_deref(), Some(CODE));
    assert!(
        email.text.contains("expires in 5 minutes"),
        "{}",
        email.text
    );
    assert!(email.html.contains(CODE) && email.html.contains("<html lang=\"en\">"));
}

#[test]
fn every_built_in_sms_fits_one_message() {
    let templates = templates();
    for locale in ["en", "de"] {
        for kind in CODE_KINDS {
            let mut content = content(kind, Some(locale));
            content.code = "12345678".into();
            content.valid_minutes = 60;
            let sms = templates.render_sms(&content, "Example Corp Login");
            assert!(sms.chars().count() <= 160, "{locale} {kind:?}: {sms}");
            assert!(sms.starts_with("12345678 "), "{sms}");
        }
    }
}

#[test]
fn every_kind_renders_in_english_and_german() {
    let templates = templates();
    for kind in CODE_KINDS.into_iter().chain(LINK_KINDS) {
        // What the user acts on: the code to type, or the link to open.
        let action = if LINK_KINDS.contains(&kind) {
            LINK
        } else {
            CODE
        };
        let render = |locale| {
            let content = content(kind, Some(locale));
            let email = templates.render_email(&content, "Tessera");
            (email, templates.render_sms(&content, "Tessera"))
        };
        let (english, _) = render("en");
        let (german, _) = render("de");
        assert_ne!(english.subject, german.subject, "{kind:?}");
        assert_ne!(english.text, german.text, "{kind:?}");
        for locale in ["en", "de"] {
            let (email, sms) = render(locale);
            let context = format!("{locale} {kind:?}");
            assert!(email.subject.contains("Tessera"), "{context}: {email:?}");
            assert!(email.text.contains(action), "{context}: {}", email.text);
            assert!(email.text.contains(" 5 "), "{context}: {}", email.text);
            assert!(sms.contains(action), "{context}: {sms}");
            if kind == MessageKind::RecoverEmail {
                assert!(email.text.contains(NEW_EMAIL), "{context}: {}", email.text);
                assert!(email.html.contains(NEW_EMAIL), "{context}: {}", email.html);
            }
            let lang = format!("<html lang=\"{locale}\">");
            assert!(email.html.contains(&lang), "{context}: {}", email.html);
            for part in [&email.subject, &email.text, &email.html, &sms] {
                assert!(!part.contains("{{"), "{context}: {part}");
            }
        }
    }
}

#[test]
fn a_link_email_carries_the_link_escaped_in_html_only() {
    let templates = templates();
    let escaped = LINK.replace('&', "&amp;");
    for kind in LINK_KINDS {
        for locale in [None, Some("de")] {
            let email = templates.render_email(&content(kind, locale), "Tessera");
            let context = format!("{locale:?} {kind:?}");
            assert!(email.text.contains(LINK), "{context}: {}", email.text);
            // A button, and the link again as text to copy.
            let href = format!("<a href=\"{escaped}\"");
            assert!(email.html.contains(&href), "{context}: {}", email.html);
            assert_eq!(email.html.matches(&escaped).count(), 2, "{context}");
            assert!(!email.html.contains(LINK), "{context}: {}", email.html);
        }
    }
}

#[test]
fn the_language_is_chosen_by_exact_tag_then_primary_language_then_english() {
    let templates = templates();
    let subject = |locale: Option<&str>| {
        let content = content(MessageKind::SignIn, locale);
        templates.render_email(&content, "Tessera").subject
    };
    assert_eq!(subject(Some("de")), "Ihr Anmeldecode für Tessera");
    assert_eq!(subject(Some("de-CH")), "Ihr Anmeldecode für Tessera");
    assert_eq!(subject(Some("DE_at")), "Ihr Anmeldecode für Tessera");
    assert_eq!(
        subject(Some("de-AT,en;q=0.5")),
        "Ihr Anmeldecode für Tessera"
    );
    assert_eq!(subject(Some("fr-FR")), "Your Tessera sign-in code");
    assert_eq!(subject(None), "Your Tessera sign-in code");
    let sms = templates.render_sms(&content(MessageKind::Enrol, Some("de")), "Tessera");
    assert!(sms.contains("Zwei-Faktor-Authentifizierung"), "{sms}");
}

#[test]
fn values_are_escaped_in_html_only_and_subjects_stay_one_line() {
    let app = "<b>Tom & \"Jerry's\"</b>\nInc";
    let email = templates().render_email(&content(MessageKind::VerifyContact, None), app);
    assert!(
        email
            .html
            .contains("&lt;b&gt;Tom &amp; &quot;Jerry&#39;s&quot;&lt;/b&gt;"),
        "{}",
        email.html
    );
    assert!(!email.html.contains("<b>Tom"));
    assert!(email.text.contains(app), "{}", email.text);
    assert!(!email.subject.contains('\n'), "{}", email.subject);
    // A placeholder inside a value stays literal: values are inserted in one pass.
    let sms = templates().render_sms(&content(MessageKind::SignIn, None), "{{code}}");
    assert_eq!(sms.matches(CODE).count(), 1, "{sms}");
}

fn write(dir: &std::path::Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn an_override_directory_replaces_single_files_and_adds_languages() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/sign_in.sms.txt",
        "Code {{ code }} for {{app_name}}\n",
    );
    write(
        dir.path(),
        "fr/sign_in.subject.txt",
        "Votre code {{app_name}}\n",
    );
    write(
        dir.path(),
        "de-CH/sign_in.sms.txt",
        "{{code}} isch din Code.",
    );
    write(dir.path(), "README.md", "ignored");
    write(dir.path(), ".git/config", "ignored");
    let templates = Templates::load(Some(dir.path())).unwrap();
    let render = |locale: Option<&str>| {
        let content = content(MessageKind::SignIn, locale);
        (
            templates.render_sms(&content, "Tessera"),
            templates.render_email(&content, "Tessera"),
        )
    };

    let (sms, email) = render(None);
    assert_eq!(sms, "Code 493817 for Tessera");
    assert_eq!(email.subject, "Your Tessera sign-in code");
    // A language with only a subject: the rest is (overridden) English.
    let (sms, email) = render(Some("fr"));
    assert_eq!(email.subject, "Votre code Tessera");
    assert!(email.text.contains("sign-in code"), "{}", email.text);
    assert_eq!(sms, "Code 493817 for Tessera");
    // A regional override: its own SMS, the rest from built-in German.
    let (sms, email) = render(Some("de-ch"));
    assert_eq!(sms, "493817 isch din Code.");
    assert_eq!(email.subject, "Ihr Anmeldecode für Tessera");
    let (sms, _) = render(Some("de"));
    assert!(sms.starts_with("493817 ist Ihr"), "{sms}");
}

#[test]
fn a_link_kind_override_needs_the_link_but_not_the_code() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/reset_password.txt",
        "Reset your {{app_name}} password: {{link}}\n",
    );
    let templates = Templates::load(Some(dir.path())).unwrap();

    let content = content(MessageKind::ResetPassword, None);
    let email = templates.render_email(&content, "Tessera");
    assert_eq!(email.text, format!("Reset your Tessera password: {LINK}\n"));
    assert_eq!(email.subject, "Reset your password for Tessera");
}

#[test]
fn broken_overrides_stop_loading() {
    let load = |file: &str, text: &str| {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), file, text);
        Templates::load(Some(dir.path())).unwrap_err()
    };
    let error = load("en/sign_in.sms.txt", "{{code}} for {{user}}");
    assert!(matches!(error, TemplateError::Invalid { .. }), "{error}");
    assert!(error.to_string().contains("en/sign_in.sms.txt"), "{error}");
    let error = load("de/enrol.html", "<p>no code here</p>");
    assert!(matches!(error, TemplateError::Invalid { .. }), "{error}");
    let error = load("en/signin.txt", "{{code}}");
    assert!(matches!(error, TemplateError::UnknownFile(_)), "{error}");
    let error = load("de CH/sign_in.txt", "{{code}}");
    assert!(matches!(error, TemplateError::BadLocale(_)), "{error}");
    // A link kind needs the link in its bodies and SMS; the code kinds still need the code.
    for (file, text) in [
        ("en/reset_password.txt", "Your reset code is {{code}}."),
        ("de/verify_email.html", "<p>{{code}}</p>"),
        ("fr/change_email.sms.txt", "{{app_name}}: {{code}}"),
    ] {
        let error = load(file, text);
        assert!(matches!(error, TemplateError::Invalid { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains(file) && message.contains("does not contain {{link}}"),
            "{message}"
        );
    }
    let error = load("en/sign_in.txt", "Sign in at {{link}}");
    assert!(
        error.to_string().contains("does not contain {{code}}"),
        "{error}"
    );
    let missing = Templates::load(Some(std::path::Path::new("/nonexistent/templates")));
    assert!(matches!(missing, Err(TemplateError::Io { .. })));
}
