//! Message texts: an email (subject, plain text, HTML) and an SMS per message kind and
//! language. English and German are built in; operators override or add languages with a
//! directory of plain files, so rewording a message needs no rebuild.
//!
//! # Override directory
//!
//! ```text
//! <dir>/<locale>/<kind>.subject.txt   email subject (one line)
//! <dir>/<locale>/<kind>.txt           email plain-text body
//! <dir>/<locale>/<kind>.html          email HTML body
//! <dir>/<locale>/<kind>.sms.txt       SMS text (keep it under 160 characters)
//! ```
//!
//! `<kind>` is one of the kinds that carry a code to type, `enrol`, `sign_in` and
//! `verify_contact`, or one of the kinds that carry a link to open, `verify_email`,
//! `reset_password`, `change_email` and `sign_in_link` (Identity Toolkit's `sendOobCode`
//! emails), `recover_email` (the notice to the address an end user's email was changed
//! from, with a link that changes it back), `revert_second_factor` (the notice of a second
//! factor enrolled, with a link that removes it), `passkey_registration` (ZITADEL's link
//! that lets a user register a passkey without signing in) and `invite` (ZITADEL's
//! invitation to choose a way to sign in). The link kinds are sent by email only; they have an SMS text all the same, so every kind has the
//! same four files. `<locale>` is a language tag such as `fr` or `de-CH` (case does not
//! matter; hidden directories are skipped). Any file may be left out: it then comes from the
//! built-in text for that language, else from its primary language (`de` for `de-CH`), else
//! from English; each of those may itself be overridden. Other files are ignored, except
//! `.txt` and `.html` files with an unknown name, which are refused so a typo does not go
//! unnoticed.
//!
//! # Placeholders
//!
//! `{{code}}`, `{{link}}` (the action link; empty for the code kinds), `{{app_name}}`,
//! `{{minutes}}` (how long the code or link is valid) and `{{new_email}}` (the address the
//! account was changed to, for `recover_email`; empty for the others). Bodies and the SMS must contain what
//! the user acts on: `{{link}}` for the link kinds (for which `{{code}}`, the code inside
//! the link, is optional), `{{code}}` for the others. Any other `{{name}}` is refused at
//! load time, so a broken override stops the server at start-up rather than reaching users.
//! Values are inserted in one pass (an app name containing `{{code}}` stays literal) and
//! HTML-escaped in HTML.
//!
//! # Language choice
//!
//! The exact tag (`de-CH`), then its primary language (`de`), then English.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tessera_core::delivery::{Email, MessageContent, MessageKind};

const ENGLISH: &str = "en";
const KINDS: [MessageKind; 11] = [
    MessageKind::Enrol,
    MessageKind::SignIn,
    MessageKind::VerifyContact,
    MessageKind::VerifyEmail,
    MessageKind::ResetPassword,
    MessageKind::ChangeEmail,
    MessageKind::SignInLink,
    MessageKind::RecoverEmail,
    MessageKind::RevertSecondFactor,
    MessageKind::PasskeyRegistration,
    MessageKind::Invite,
];
const PLACEHOLDERS: [&str; 5] = ["code", "link", "app_name", "minutes", "new_email"];

/// The built-in files: `(locale, file name, text)`.
macro_rules! builtin {
    ($($locale:literal / $file:literal),* $(,)?) => {
        &[$((
            $locale,
            $file,
            include_str!(concat!("../../templates/messages/", $locale, "/", $file)),
        )),*]
    };
}

const BUILTIN: &[(&str, &str, &str)] = builtin![
    "en" / "enrol.subject.txt",
    "en" / "enrol.txt",
    "en" / "enrol.html",
    "en" / "enrol.sms.txt",
    "en" / "sign_in.subject.txt",
    "en" / "sign_in.txt",
    "en" / "sign_in.html",
    "en" / "sign_in.sms.txt",
    "en" / "verify_contact.subject.txt",
    "en" / "verify_contact.txt",
    "en" / "verify_contact.html",
    "en" / "verify_contact.sms.txt",
    "en" / "verify_email.subject.txt",
    "en" / "verify_email.txt",
    "en" / "verify_email.html",
    "en" / "verify_email.sms.txt",
    "en" / "reset_password.subject.txt",
    "en" / "reset_password.txt",
    "en" / "reset_password.html",
    "en" / "reset_password.sms.txt",
    "en" / "change_email.subject.txt",
    "en" / "change_email.txt",
    "en" / "change_email.html",
    "en" / "change_email.sms.txt",
    "en" / "sign_in_link.subject.txt",
    "en" / "sign_in_link.txt",
    "en" / "sign_in_link.html",
    "en" / "sign_in_link.sms.txt",
    "en" / "recover_email.subject.txt",
    "en" / "recover_email.txt",
    "en" / "recover_email.html",
    "en" / "recover_email.sms.txt",
    "en" / "revert_second_factor.subject.txt",
    "en" / "revert_second_factor.txt",
    "en" / "revert_second_factor.html",
    "en" / "revert_second_factor.sms.txt",
    "en" / "passkey_registration.subject.txt",
    "en" / "passkey_registration.txt",
    "en" / "passkey_registration.html",
    "en" / "passkey_registration.sms.txt",
    "en" / "invite.subject.txt",
    "en" / "invite.txt",
    "en" / "invite.html",
    "en" / "invite.sms.txt",
    "de" / "enrol.subject.txt",
    "de" / "enrol.txt",
    "de" / "enrol.html",
    "de" / "enrol.sms.txt",
    "de" / "sign_in.subject.txt",
    "de" / "sign_in.txt",
    "de" / "sign_in.html",
    "de" / "sign_in.sms.txt",
    "de" / "verify_contact.subject.txt",
    "de" / "verify_contact.txt",
    "de" / "verify_contact.html",
    "de" / "verify_contact.sms.txt",
    "de" / "verify_email.subject.txt",
    "de" / "verify_email.txt",
    "de" / "verify_email.html",
    "de" / "verify_email.sms.txt",
    "de" / "reset_password.subject.txt",
    "de" / "reset_password.txt",
    "de" / "reset_password.html",
    "de" / "reset_password.sms.txt",
    "de" / "change_email.subject.txt",
    "de" / "change_email.txt",
    "de" / "change_email.html",
    "de" / "change_email.sms.txt",
    "de" / "sign_in_link.subject.txt",
    "de" / "sign_in_link.txt",
    "de" / "sign_in_link.html",
    "de" / "sign_in_link.sms.txt",
    "de" / "recover_email.subject.txt",
    "de" / "recover_email.txt",
    "de" / "recover_email.html",
    "de" / "recover_email.sms.txt",
    "de" / "revert_second_factor.subject.txt",
    "de" / "revert_second_factor.txt",
    "de" / "revert_second_factor.html",
    "de" / "revert_second_factor.sms.txt",
    "de" / "passkey_registration.subject.txt",
    "de" / "passkey_registration.txt",
    "de" / "passkey_registration.html",
    "de" / "passkey_registration.sms.txt",
    "de" / "invite.subject.txt",
    "de" / "invite.txt",
    "de" / "invite.html",
    "de" / "invite.sms.txt",
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read message templates at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("message template directory {0} is not named after a language tag")]
    BadLocale(PathBuf),
    #[error(
        "unknown message template file {0} (expected <kind>.subject.txt, .txt, .html or \
         .sms.txt, with kind enrol, sign_in, verify_contact, verify_email, reset_password, \
         change_email, sign_in_link, recover_email, revert_second_factor, \
         passkey_registration or invite)"
    )]
    UnknownFile(PathBuf),
    #[error("message template {locale}/{file}: {reason}")]
    Invalid {
        locale: String,
        file: String,
        reason: String,
    },
}

/// One of the four texts of a message kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Subject,
    Text,
    Html,
    Sms,
}

impl Part {
    const ALL: [Part; 4] = [Part::Subject, Part::Text, Part::Html, Part::Sms];

    fn suffix(self) -> &'static str {
        match self {
            Part::Subject => ".subject.txt",
            Part::Text => ".txt",
            Part::Html => ".html",
            Part::Sms => ".sms.txt",
        }
    }

    /// Subjects and SMS are single lines; the bodies keep their layout.
    fn is_line(self) -> bool {
        matches!(self, Part::Subject | Part::Sms)
    }
}

fn file_name(kind: MessageKind, part: Part) -> String {
    format!("{}{}", kind.as_str(), part.suffix())
}

/// Which template a file name holds, if any.
fn parse_file_name(name: &str) -> Option<(MessageKind, Part)> {
    KINDS
        .iter()
        .flat_map(|&kind| Part::ALL.map(|part| (kind, part)))
        .find(|&(kind, part)| file_name(kind, part) == name)
}

/// `de_CH`, `DE-ch` → `de-ch`; of a list (`de-CH,de;q=0.9`, as in `Accept-Language`), the
/// first tag.
fn normalise_tag(tag: &str) -> String {
    let first = tag.split([',', ';']).next().unwrap_or_default();
    first.trim().to_ascii_lowercase().replace('_', "-")
}

/// `de` for `de-ch`; `None` for a tag that is a primary language already.
fn primary_language(tag: &str) -> Option<&str> {
    tag.split_once('-').map(|(primary, _)| primary)
}

/// English, then primary languages, then regional ones: the order in which they are built.
fn fallback_depth(tag: &str) -> u8 {
    match (tag == ENGLISH, primary_language(tag)) {
        (true, _) => 0,
        (false, None) => 1,
        (false, Some(_)) => 2,
    }
}

fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The four texts of one kind.
#[derive(Debug, Clone, Default)]
struct Texts {
    subject: String,
    text: String,
    html: String,
    sms: String,
}

/// Every text for one language.
#[derive(Debug, Clone, Default)]
struct Catalog {
    enrol: Texts,
    sign_in: Texts,
    verify_contact: Texts,
    verify_email: Texts,
    reset_password: Texts,
    change_email: Texts,
    sign_in_link: Texts,
    recover_email: Texts,
    revert_second_factor: Texts,
    passkey_registration: Texts,
    invite: Texts,
}

impl Catalog {
    fn texts(&self, kind: MessageKind) -> &Texts {
        match kind {
            MessageKind::Enrol => &self.enrol,
            MessageKind::SignIn => &self.sign_in,
            MessageKind::VerifyContact => &self.verify_contact,
            MessageKind::VerifyEmail => &self.verify_email,
            MessageKind::ResetPassword => &self.reset_password,
            MessageKind::ChangeEmail => &self.change_email,
            MessageKind::SignInLink => &self.sign_in_link,
            MessageKind::RecoverEmail => &self.recover_email,
            MessageKind::RevertSecondFactor => &self.revert_second_factor,
            MessageKind::PasskeyRegistration => &self.passkey_registration,
            MessageKind::Invite => &self.invite,
        }
    }

    fn slot(&mut self, kind: MessageKind, part: Part) -> &mut String {
        let texts = match kind {
            MessageKind::Enrol => &mut self.enrol,
            MessageKind::SignIn => &mut self.sign_in,
            MessageKind::VerifyContact => &mut self.verify_contact,
            MessageKind::VerifyEmail => &mut self.verify_email,
            MessageKind::ResetPassword => &mut self.reset_password,
            MessageKind::ChangeEmail => &mut self.change_email,
            MessageKind::SignInLink => &mut self.sign_in_link,
            MessageKind::RecoverEmail => &mut self.recover_email,
            MessageKind::RevertSecondFactor => &mut self.revert_second_factor,
            MessageKind::PasskeyRegistration => &mut self.passkey_registration,
            MessageKind::Invite => &mut self.invite,
        };
        match part {
            Part::Subject => &mut texts.subject,
            Part::Text => &mut texts.text,
            Part::Html => &mut texts.html,
            Part::Sms => &mut texts.sms,
        }
    }

    fn get(&self, kind: MessageKind, part: Part) -> &str {
        let texts = self.texts(kind);
        match part {
            Part::Subject => &texts.subject,
            Part::Text => &texts.text,
            Part::Html => &texts.html,
            Part::Sms => &texts.sms,
        }
    }

    fn validate(&self, locale: &str) -> Result<(), TemplateError> {
        for kind in KINDS {
            for part in Part::ALL {
                check(self.get(kind, part), kind, part).map_err(|reason| {
                    TemplateError::Invalid {
                        locale: locale.to_owned(),
                        file: file_name(kind, part),
                        reason,
                    }
                })?;
            }
        }
        Ok(())
    }
}

/// One template file, built in or from the override directory.
struct Source {
    locale: String,
    kind: MessageKind,
    part: Part,
    text: String,
}

impl Source {
    fn new(locale: &str, kind: MessageKind, part: Part, text: &str) -> Self {
        let text = if part.is_line() {
            text.trim().to_owned()
        } else {
            text.to_owned()
        };
        Source {
            locale: normalise_tag(locale),
            kind,
            part,
            text,
        }
    }
}

/// The message texts for every language, complete: each language has all four texts of
/// every kind.
#[derive(Debug, Clone)]
pub struct Templates {
    english: Catalog,
    /// By normalised tag (`de`, `de-ch`); never contains English.
    others: HashMap<String, Catalog>,
}

impl Templates {
    /// The built-in texts, overlaid with the files under `dir` if given (see the module
    /// documentation for the layout).
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut sources = builtin_sources()?;
        if let Some(dir) = dir {
            sources.extend(directory_sources(dir)?);
        }
        let templates = Self::layer(sources);
        templates.english.validate(ENGLISH)?;
        for (locale, catalog) in &templates.others {
            catalog.validate(locale)?;
        }
        Ok(templates)
    }

    /// The languages messages are written in: English, then the others by tag.
    pub fn languages(&self) -> Vec<String> {
        let mut others: Vec<String> = self.others.keys().cloned().collect();
        others.sort();
        std::iter::once(ENGLISH.to_owned()).chain(others).collect()
    }

    /// Each language starts as a copy of the one it falls back to (its primary language,
    /// else English), so those are completed first; within a language, later sources win,
    /// so overrides beat built-in texts.
    fn layer(mut sources: Vec<Source>) -> Templates {
        sources.sort_by_key(|source| fallback_depth(&source.locale));
        let mut english = Catalog::default();
        let mut others: HashMap<String, Catalog> = HashMap::new();
        for source in sources {
            if source.locale == ENGLISH {
                *english.slot(source.kind, source.part) = source.text;
                continue;
            }
            if !others.contains_key(&source.locale) {
                let base = primary_language(&source.locale)
                    .and_then(|primary| others.get(primary))
                    .unwrap_or(&english)
                    .clone();
                others.insert(source.locale.clone(), base);
            }
            if let Some(catalog) = others.get_mut(&source.locale) {
                *catalog.slot(source.kind, source.part) = source.text;
            }
        }
        Templates { english, others }
    }

    /// Exact tag, then primary language, then English.
    fn catalog(&self, locale: Option<&str>) -> &Catalog {
        let Some(tag) = locale.map(normalise_tag) else {
            return &self.english;
        };
        self.others
            .get(&tag)
            .or_else(|| primary_language(&tag).and_then(|primary| self.others.get(primary)))
            .unwrap_or(&self.english)
    }

    pub fn render_sms(&self, content: &MessageContent, app_name: &str) -> String {
        let catalog = self.catalog(content.locale.as_deref());
        let values = Values::new(content, app_name);
        fill(catalog.get(content.kind, Part::Sms), &values, Escape::None)
    }

    pub fn render_email(&self, content: &MessageContent, app_name: &str) -> Email {
        let texts = self.catalog(content.locale.as_deref()).texts(content.kind);
        let values = Values::new(content, app_name);
        Email {
            // A header is one line, whatever the app name holds.
            subject: fill(&texts.subject, &values, Escape::None).replace(['\r', '\n'], " "),
            text: fill(&texts.text, &values, Escape::None),
            html: fill(&texts.html, &values, Escape::Html),
        }
    }
}

fn builtin_sources() -> Result<Vec<Source>, TemplateError> {
    BUILTIN
        .iter()
        .map(|&(locale, name, text)| {
            let (kind, part) = parse_file_name(name)
                .ok_or_else(|| TemplateError::UnknownFile(Path::new(locale).join(name)))?;
            Ok(Source::new(locale, kind, part, text))
        })
        .collect()
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TemplateError + '_ {
    move |source| TemplateError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The last component of `path`, or `""` if it is not UTF-8 (such names match nothing).
fn name_of(path: &Path) -> &str {
    path.file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default()
}

/// Every template under `dir/<locale>/`; plain files at the top level are ignored.
fn directory_sources(dir: &Path) -> Result<Vec<Source>, TemplateError> {
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let name = name_of(&path);
        if !path.is_dir() || name.starts_with('.') {
            continue;
        }
        if !is_language_tag(name) {
            return Err(TemplateError::BadLocale(path));
        }
        sources.extend(locale_sources(&path, name)?);
    }
    Ok(sources)
}

fn locale_sources(dir: &Path, locale: &str) -> Result<Vec<Source>, TemplateError> {
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let name = name_of(&path);
        match parse_file_name(name) {
            Some((kind, part)) => {
                let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
                sources.push(Source::new(locale, kind, part, &text));
            }
            None if name.ends_with(".txt") || name.ends_with(".html") => {
                return Err(TemplateError::UnknownFile(path));
            }
            None => {}
        }
    }
    Ok(sources)
}

/// A piece of a template: literal text or the name inside `{{…}}`.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Literal(&'a str),
    Placeholder(&'a str),
}

/// Splits a template at its placeholders. A `{{` without a closing `}}` is literal text.
fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            break;
        };
        pieces.push(Piece::Literal(&rest[..open]));
        pieces.push(Piece::Placeholder(rest[open + 2..open + 2 + close].trim()));
        rest = &rest[open + 2 + close + 2..];
    }
    pieces.push(Piece::Literal(rest));
    pieces
}

/// The placeholder a kind's bodies and SMS must contain: what the user acts on, the code
/// to type or the link to open.
fn required_placeholder(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Enrol | MessageKind::SignIn | MessageKind::VerifyContact => "code",
        MessageKind::VerifyEmail
        | MessageKind::ResetPassword
        | MessageKind::ChangeEmail
        | MessageKind::SignInLink
        | MessageKind::RecoverEmail
        | MessageKind::RevertSecondFactor
        | MessageKind::PasskeyRegistration
        | MessageKind::Invite => "link",
    }
}

fn check(template: &str, kind: MessageKind, part: Part) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err("is empty".to_owned());
    }
    let pieces = pieces(template);
    if pieces
        .iter()
        .any(|piece| matches!(piece, Piece::Placeholder(name) if !PLACEHOLDERS.contains(name)))
    {
        return Err(
            "unknown placeholder (use {{code}}, {{link}}, {{app_name}}, {{minutes}} or \
             {{new_email}})"
                .to_owned(),
        );
    }
    let required = required_placeholder(kind);
    if part != Part::Subject && !pieces.contains(&Piece::Placeholder(required)) {
        return Err(format!("does not contain {{{{{required}}}}}"));
    }
    Ok(())
}

struct Values<'a> {
    code: &'a str,
    link: &'a str,
    app_name: &'a str,
    minutes: String,
    new_email: &'a str,
}

impl<'a> Values<'a> {
    fn new(content: &'a MessageContent, app_name: &'a str) -> Self {
        Values {
            code: &content.code,
            link: content.link.as_deref().unwrap_or_default(),
            app_name: content.app_name.as_deref().unwrap_or(app_name),
            minutes: content.valid_minutes.to_string(),
            new_email: content.new_email.as_deref().unwrap_or_default(),
        }
    }

    fn get(&self, name: &str) -> &str {
        match name {
            "code" => self.code,
            "link" => self.link,
            "app_name" => self.app_name,
            "minutes" => &self.minutes,
            "new_email" => self.new_email,
            // Refused at load time; unreachable for loaded templates.
            _ => "",
        }
    }
}

#[derive(Clone, Copy)]
enum Escape {
    None,
    Html,
}

fn fill(template: &str, values: &Values<'_>, escape: Escape) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    for piece in pieces(template) {
        match (piece, escape) {
            (Piece::Literal(text), _) => out.push_str(text),
            (Piece::Placeholder(name), Escape::None) => out.push_str(values.get(name)),
            (Piece::Placeholder(name), Escape::Html) => {
                push_html_escaped(&mut out, values.get(name))
            }
        }
    }
    out
}

fn push_html_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_at_placeholders_and_keep_unclosed_braces() {
        assert_eq!(
            pieces("a {{ code }} b {{x"),
            vec![
                Piece::Literal("a "),
                Piece::Placeholder("code"),
                Piece::Literal(" b {{x"),
            ]
        );
    }

    #[test]
    fn bodies_and_sms_must_contain_what_the_user_acts_on() {
        let missing = |name: &str| Err(format!("does not contain {{{{{name}}}}}"));
        assert_eq!(
            check("{{link}}", MessageKind::VerifyEmail, Part::Html),
            Ok(())
        );
        assert_eq!(
            check("{{code}}", MessageKind::ResetPassword, Part::Text),
            missing("link")
        );
        assert_eq!(
            check("{{code}}", MessageKind::ChangeEmail, Part::Sms),
            missing("link")
        );
        assert_eq!(
            check("{{link}}", MessageKind::SignIn, Part::Sms),
            missing("code")
        );
        assert_eq!(
            check(
                "Reset your password",
                MessageKind::ResetPassword,
                Part::Subject
            ),
            Ok(())
        );
    }

    #[test]
    fn every_builtin_file_is_listed() {
        for locale in ["en", "de"] {
            for kind in KINDS {
                for part in Part::ALL {
                    let name = file_name(kind, part);
                    assert!(
                        BUILTIN.iter().any(|&(l, n, _)| l == locale && n == name),
                        "{locale}/{name} missing"
                    );
                }
            }
        }
    }
}
