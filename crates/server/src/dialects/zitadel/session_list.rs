//! ListSessions (session service v2, `POST /v2/sessions/search`): a project's login sessions,
//! found by id, user, creator, browser fingerprint, creation or expiry time, and narrowed in
//! the database to those the caller may see, as ZITADEL's newer permission check does (so the
//! total counts only those): the sessions it created, those of its own user, and with
//! `session.read` every session of the organizations it administers.

use tessera_core::Permission;
use tessera_core::store::{Comparison, SessionFilter, SessionQuery};

use super::auth::Caller;
use super::error::{
    BAD_BODY, SESSION_AGENT_UNSET, SESSION_COMPARISON, SESSION_CREATOR_UNSET, SESSION_QUERY_UNSET,
    ZitadelError,
};
use super::rpc::Ctx;
use super::search::{MAX_TERMS, Page, list_details};
use super::sessions::shown;
use super::timestamp::Timestamp;
use super::users::domain;
use crate::proto::zitadel::session::v2 as session;
use crate::proto::zitadel::v1::TimestampQueryMethod;
use crate::service::ListedSession;
use session::search_query::Query;

pub async fn list_sessions(
    ctx: Ctx,
    req: session::ListSessionsRequest,
) -> Result<session::ListSessionsResponse, ZitadelError> {
    if req.queries.iter().map(terms).sum::<usize>() > MAX_TERMS {
        return Err(BAD_BODY);
    }
    let filters = req
        .queries
        .iter()
        .map(|q| filter(&ctx, q))
        .collect::<Result<Vec<_>, _>>()?;
    let (total, listed) = found(&ctx, filters, Page::of(req.query)?).await?;
    Ok(session::ListSessionsResponse {
        details: Some(list_details(&ctx, total)),
        sessions: listed
            .iter()
            .map(|l| shown(&l.session, l.user.as_ref(), &l.org_id))
            .collect(),
    })
}

/// A page of the sessions `filters` find among those the caller may see, and how many.
async fn found(
    ctx: &Ctx,
    mut filters: Vec<SessionFilter>,
    page: Page,
) -> Result<(i64, Vec<ListedSession>), ZitadelError> {
    filters.extend(visible(ctx));
    let query = SessionQuery {
        project: ctx.realm.project_id.clone(),
        filters,
        ascending: page.ascending,
        offset: page.offset,
        limit: page.limit,
    };
    ctx.svc.list_login_sessions(&query).await.map_err(domain)
}

/// Whether the caller may see the session `id`, as ListSessions decides.
pub(super) async fn sees(ctx: &Ctx, id: &str) -> Result<bool, ZitadelError> {
    let only = Page {
        offset: 0,
        limit: 0,
        ascending: false,
    };
    let (total, _) = found(ctx, vec![SessionFilter::Ids(vec![id.to_owned()])], only).await?;
    Ok(total > 0)
}

/// The sessions the caller may see: those it created, those of its own user, and with
/// `session.read` those of its organization, or of every organization for an instance
/// administrator (no filter).
fn visible(ctx: &Ctx) -> Option<SessionFilter> {
    let created = SessionFilter::Creator(ctx.caller.id().to_string());
    match &*ctx.caller {
        Caller::Machine(machine) if machine.role.grants(Permission::Session) => {
            if machine.role.spans_instance() {
                None
            } else {
                let realm = SessionFilter::Realm(machine.realm.id.clone());
                Some(SessionFilter::Any(vec![created, realm]))
            }
        }
        Caller::Machine(_) => Some(created),
        Caller::User(me) => {
            let own = SessionFilter::All(vec![
                SessionFilter::User(me.user.id.to_string()),
                SessionFilter::Realm(me.realm.id.clone()),
            ]);
            Some(SessionFilter::Any(vec![created, own]))
        }
    }
}

/// How many terms a query holds: itself and the ids it lists.
fn terms(q: &session::SearchQuery) -> usize {
    1 + match &q.query {
        Some(Query::IdsQuery(ids)) => ids.ids.len(),
        _ => 0,
    }
}

fn filter(ctx: &Ctx, q: &session::SearchQuery) -> Result<SessionFilter, ZitadelError> {
    Ok(match q.query.as_ref().ok_or(SESSION_QUERY_UNSET)? {
        Query::IdsQuery(ids) => SessionFilter::Ids(ids.ids.clone()),
        Query::UserIdQuery(user) => SessionFilter::User(user.id.clone()),
        Query::CreationDateQuery(created) => {
            SessionFilter::Created(comparison(created.method)?, moment(created.creation_date)?)
        }
        Query::CreatorQuery(creator) => match creator.id.as_deref() {
            None => SessionFilter::Creator(ctx.caller.id().to_string()),
            Some("") => return Err(SESSION_CREATOR_UNSET),
            Some(id) => SessionFilter::Creator(id.to_owned()),
        },
        Query::UserAgentQuery(agent) => match agent.fingerprint_id.as_deref() {
            Some(id) if !id.is_empty() => SessionFilter::Fingerprint(id.to_owned()),
            _ => return Err(SESSION_AGENT_UNSET),
        },
        Query::ExpirationDateQuery(expiry) => {
            let how = comparison(expiry.method)?;
            let expires = SessionFilter::Expires(how, moment(expiry.expiration_date)?);
            // A session without an expiry is later than any time.
            match how {
                Comparison::Greater | Comparison::GreaterOrEqual => {
                    SessionFilter::Any(vec![expires, SessionFilter::NeverExpires])
                }
                _ => expires,
            }
        }
    })
}

fn comparison(method: i32) -> Result<Comparison, ZitadelError> {
    use TimestampQueryMethod::*;
    Ok(
        match TimestampQueryMethod::try_from(method).map_err(|_| SESSION_COMPARISON)? {
            Equals => Comparison::Equal,
            Greater => Comparison::Greater,
            GreaterOrEquals => Comparison::GreaterOrEqual,
            Less => Comparison::Less,
            LessOrEquals => Comparison::LessOrEqual,
        },
    )
}

/// A query's time; none is the Unix epoch, as Go's `AsTime` reads a missing timestamp.
fn moment(given: Option<Timestamp>) -> Result<time::OffsetDateTime, ZitadelError> {
    given.unwrap_or_default().at().ok_or(BAD_BODY)
}
