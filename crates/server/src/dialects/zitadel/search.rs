//! v2's `ListUsers`: ZITADEL's tree of search queries (AND at the top, with `and`, `or` and
//! `not` inside), translated to the store's filter and run in the database, over the users
//! the caller may read: an instance administrator's whole project unless `x-zitadel-orgid`
//! names one organization, an organization's machine user its organization, a signed-in user
//! itself. Tessera keeps machine users apart from users, so they are never listed: a query for
//! the machine type matches nobody, as do states Tessera has no users in (initial, deleted).

use std::collections::HashMap;

use tessera_core::store::{
    TextField, TextMatch, TextPosition, UserFilter, UserQuery, UserScope, UserSort,
};
use tessera_core::{AccountState, DomainError, Permission, RealmId, User};

use super::auth::Caller;
use super::details::{stored_v2, timestamp};
use super::error::{BAD_BODY, ZitadelError};
use super::factors::user_id;
use super::profiles::{changed_at, proven_phone, user_v2};
use super::rpc::Ctx;
use super::users::domain;
use crate::proto::zitadel::object::v2::{ListDetails, ListQuery, TextQueryMethod};
use crate::proto::zitadel::user::v2 as user;
use user::search_query::Query;

/// ZITADEL's page size when the request names none, and the most it serves at once.
const DEFAULT_LIMIT: u32 = 100;
pub(super) const MAX_LIMIT: u32 = 1000;
/// The most queries, ids and addresses one request may hold: each becomes a parameter of one
/// statement, and the engines bound those (SQLite at 32,766).
pub(super) const MAX_TERMS: usize = 1000;

pub async fn list_users(
    ctx: Ctx,
    req: user::ListUsersRequest,
) -> Result<user::ListUsersResponse, ZitadelError> {
    if req.queries.iter().map(terms).sum::<usize>() > MAX_TERMS {
        return Err(BAD_BODY);
    }
    let orgs = org_realms(&ctx, &req.queries).await?;
    let mut all = req
        .queries
        .iter()
        .map(|q| filter(q, &orgs))
        .collect::<Result<Vec<_>, _>>()?;
    let scope = readable(&ctx, &mut all);
    let page = Page::of(req.query)?;
    let query = UserQuery {
        filters: vec![UserFilter::And(all)],
        sort_by: sort(req.sorting_column),
        descending: !page.ascending,
        offset: page.offset,
        limit: page.limit,
    };
    let (total, found) = ctx
        .svc
        .query_accounts(&scope, &query, true)
        .await
        .map_err(domain)?;
    Ok(user::ListUsersResponse {
        details: Some(list_details(&ctx, total)),
        sorting_column: req.sorting_column,
        result: shown(&ctx, found).await?,
    })
}

/// A v2 list's details: how many match in all, as of now.
pub(super) fn list_details(ctx: &Ctx, total: i64) -> ListDetails {
    ListDetails {
        total_result: u64::try_from(total).unwrap_or_default(),
        processed_sequence: 0,
        timestamp: Some(timestamp(ctx.svc.now())),
    }
}

/// What a v2 list request's `ListQuery` asks for.
pub(super) struct Page {
    pub offset: i64,
    pub limit: i64,
    pub ascending: bool,
}

impl Page {
    /// ZITADEL's default page when the request names no limit, and at most its largest.
    pub(super) fn of(query: Option<ListQuery>) -> Result<Page, ZitadelError> {
        let query = query.unwrap_or_default();
        Page::new(query.offset, query.limit, query.asc)
    }

    /// The page of any version's list query (v1's `ListQuery`, v2's `PaginationRequest`).
    pub(super) fn new(offset: u64, limit: u32, ascending: bool) -> Result<Page, ZitadelError> {
        let limit = match limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        Ok(Page {
            offset: i64::try_from(offset).map_err(|_| BAD_BODY)?,
            limit: i64::from(limit),
            ascending,
        })
    }
}

/// The users the caller may read: the whole project for an instance administrator (unless
/// the call names an organization), else the call's organization, narrowed by `filters` to
/// nobody for a machine user without `user.read` and to itself for a signed-in user.
fn readable(ctx: &Ctx, filters: &mut Vec<UserFilter>) -> UserScope {
    match &*ctx.caller {
        Caller::Machine(machine) if machine.role.spans_instance() && !ctx.org_named => {
            return UserScope::Project(ctx.realm.project_id.clone());
        }
        Caller::Machine(_) => {
            filters.push(UserFilter::Every(ctx.require(Permission::UserRead).is_ok()));
        }
        Caller::User(me) => filters.push(UserFilter::Ids(vec![me.user.id.clone()])),
    }
    UserScope::Realm(ctx.realm.id.clone())
}

/// The users as v2 answers them, each with its organization as the resource owner (looked up
/// once a realm) and its proven phone number.
async fn shown(ctx: &Ctx, found: Vec<User>) -> Result<Vec<user::User>, ZitadelError> {
    let mut owners: HashMap<RealmId, String> = HashMap::new();
    let mut shown = Vec::with_capacity(found.len());
    for each in found {
        let owner = match owners.get(&each.realm) {
            Some(owner) => owner.clone(),
            None => {
                let realm = ctx.svc.realm_by_id(&each.realm).await.map_err(domain)?;
                let owner = realm.org_id.unwrap_or_default();
                owners.insert(each.realm.clone(), owner.clone());
                owner
            }
        };
        let details = stored_v2(&owner, each.created_at, changed_at(&each));
        let phone = proven_phone(&each);
        shown.push(user_v2(each, phone, details));
    }
    Ok(shown)
}

fn sort(column: i32) -> UserSort {
    use user::UserFieldName::*;
    match user::UserFieldName::try_from(column).unwrap_or(Unspecified) {
        UserName => UserSort::Username,
        FirstName => UserSort::GivenName,
        LastName => UserSort::FamilyName,
        NickName => UserSort::NickName,
        DisplayName => UserSort::Name,
        Email => UserSort::Email,
        State => UserSort::Disabled,
        Type => UserSort::UserId,
        CreationDate | Unspecified => UserSort::CreatedAt,
    }
}

/// The realms of the organizations the queries name, looked up before the (synchronous)
/// translation; an unknown organization is absent and matches nobody.
async fn org_realms(
    ctx: &Ctx,
    queries: &[user::SearchQuery],
) -> Result<HashMap<String, RealmId>, ZitadelError> {
    fn named<'a>(q: &'a user::SearchQuery, out: &mut Vec<&'a str>) {
        match &q.query {
            Some(Query::OrganizationIdQuery(org)) => out.push(&org.organization_id),
            Some(Query::OrQuery(or)) => or.queries.iter().for_each(|q| named(q, out)),
            Some(Query::AndQuery(and)) => and.queries.iter().for_each(|q| named(q, out)),
            Some(Query::NotQuery(not)) => not.query.iter().for_each(|q| named(q, out)),
            _ => {}
        }
    }
    let mut ids = Vec::new();
    queries.iter().for_each(|q| named(q, &mut ids));
    let mut realms = HashMap::new();
    for id in ids {
        match ctx.svc.org_realm(id).await {
            Ok(realm) => {
                realms.insert(id.to_owned(), realm.id);
            }
            Err(DomainError::OrgNotFound) => {}
            Err(e) => return Err(domain(e)),
        }
    }
    Ok(realms)
}

/// How many terms a query holds: itself, its sub-queries, and the ids or addresses it lists.
fn terms(q: &user::SearchQuery) -> usize {
    1 + match &q.query {
        Some(Query::OrQuery(or)) => or.queries.iter().map(terms).sum(),
        Some(Query::AndQuery(and)) => and.queries.iter().map(terms).sum(),
        Some(Query::NotQuery(not)) => not.query.as_deref().map_or(0, terms),
        Some(Query::InUserIdsQuery(ids)) => ids.user_ids.len(),
        Some(Query::InUserEmailsQuery(emails)) => emails.user_emails.len(),
        _ => 0,
    }
}

fn filter(
    q: &user::SearchQuery,
    orgs: &HashMap<String, RealmId>,
) -> Result<UserFilter, ZitadelError> {
    let text = |field, value: &str, method| Ok(UserFilter::Text(field, how(method)?, value.into()));
    let all = |queries: &[user::SearchQuery]| {
        queries
            .iter()
            .map(|q| filter(q, orgs))
            .collect::<Result<Vec<_>, _>>()
    };
    match q.query.as_ref().ok_or(BAD_BODY)? {
        Query::UserNameQuery(n) => text(TextField::Username, &n.user_name, n.method),
        Query::FirstNameQuery(n) => text(TextField::GivenName, &n.first_name, n.method),
        Query::LastNameQuery(n) => text(TextField::FamilyName, &n.last_name, n.method),
        Query::NickNameQuery(n) => text(TextField::NickName, &n.nick_name, n.method),
        Query::DisplayNameQuery(n) => text(TextField::DisplayName, &n.display_name, n.method),
        Query::EmailQuery(e) => text(TextField::Email, &e.email_address, e.method),
        Query::PhoneQuery(p) => text(TextField::Phone, &p.number, p.method),
        Query::LoginNameQuery(n) => text(TextField::LoginName, &n.login_name, n.method),
        Query::StateQuery(s) => Ok(match user::UserState::try_from(s.state) {
            Ok(user::UserState::Active) => UserFilter::State(AccountState::Active),
            Ok(user::UserState::Inactive) => UserFilter::State(AccountState::Disabled),
            Ok(user::UserState::Locked) => UserFilter::State(AccountState::Locked),
            _ => UserFilter::Every(false),
        }),
        Query::TypeQuery(t) => Ok(UserFilter::Every(
            user::Type::try_from(t.r#type) != Ok(user::Type::Machine),
        )),
        Query::InUserIdsQuery(ids) => Ok(UserFilter::Ids(
            ids.user_ids
                .iter()
                .filter_map(|id| user_id(id).ok())
                .collect(),
        )),
        Query::InUserEmailsQuery(emails) => Ok(UserFilter::Emails(emails.user_emails.clone())),
        Query::OrganizationIdQuery(org) => Ok(orgs
            .get(&org.organization_id)
            .map_or(UserFilter::Every(false), |realm| {
                UserFilter::Realm(realm.clone())
            })),
        Query::OrQuery(or) => all(&or.queries).map(UserFilter::Or),
        Query::AndQuery(and) => all(&and.queries).map(UserFilter::And),
        Query::NotQuery(not) => {
            let inner = not.query.as_deref().ok_or(BAD_BODY)?;
            Ok(UserFilter::Not(Box::new(filter(inner, orgs)?)))
        }
    }
}

/// A text query's method: v1's and v2's `TextQueryMethod` and v2's `TextFilterMethod` number
/// their values alike.
pub(super) fn how(method: i32) -> Result<TextMatch, ZitadelError> {
    use TextQueryMethod::*;
    let (at, ignore_case) = match TextQueryMethod::try_from(method).map_err(|_| BAD_BODY)? {
        Equals => (TextPosition::Equals, false),
        EqualsIgnoreCase => (TextPosition::Equals, true),
        StartsWith => (TextPosition::StartsWith, false),
        StartsWithIgnoreCase => (TextPosition::StartsWith, true),
        Contains => (TextPosition::Contains, false),
        ContainsIgnoreCase => (TextPosition::Contains, true),
        EndsWith => (TextPosition::EndsWith, false),
        EndsWithIgnoreCase => (TextPosition::EndsWith, true),
    };
    Ok(TextMatch { at, ignore_case })
}
