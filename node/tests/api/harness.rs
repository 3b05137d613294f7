//! A node's HTTP API on a temporary data directory, driven with `tower::ServiceExt::oneshot`.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use yikou_node::accounts::{Accounts, AccountsConfig, Argon2Cost};
use yikou_node::api::{self, ApiConfig, AppState};
use yikou_node::clock::Clock;
use yikou_node::doc::RefKind;
use yikou_node::service::{NodeInfo, Service};
use yikou_node::store::attachments::AttachmentStore;
use yikou_node::store::{CaseStore, Kv, SledKv, StoreConfig};
use yikou_schema::actor::Role;
use yikou_schema::calendar::WorkCalendar;
use yikou_schema::catalog::Catalog;
use yikou_schema::codes::{DepartmentCode, NodeName};
use yikou_schema::hlc::ms_from_local;
use yikou_schema::ids::NodeCode;

pub const PASSWORD: &str = "correct-horse-42";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// The staff every test node has: (staff id, role).
pub fn staff_roles() -> Vec<(&'static str, Role)> {
    vec![
        ("clerk01", Role::WindowClerk),
        ("bdc01", Role::DepartmentReviewer(DepartmentCode::new("BDCDJ"))),
        ("scj01", Role::DepartmentReviewer(DepartmentCode::new("SCJGJ"))),
        ("zjj01", Role::DepartmentReviewer(DepartmentCode::new("ZJJ"))),
        ("zrzyj01", Role::DepartmentReviewer(DepartmentCode::new("ZRZYJ"))),
        ("rfb01", Role::DepartmentReviewer(DepartmentCode::new("RFB"))),
        ("hjfj01", Role::DepartmentReviewer(DepartmentCode::new("HJFJ"))),
        ("issue01", Role::IssuingWindow),
        ("centre01", Role::HallCentre),
        ("super01", Role::Supervisor),
        ("audit01", Role::Auditor),
    ]
}

/// The moment every test node starts at (China Standard Time): Tuesday 10 March 2026, 09:00,
/// a working morning inside the built-in calendar (2025–2026).
pub fn start() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 10)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid start moment")
}

/// A day in milliseconds, for `api.clock.advance_ms`.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A session token for every member of staff of [`staff_roles`].
pub struct Tokens {
    pub clerk: String,
    pub bdc: String,
    pub scj: String,
    pub zjj: String,
    pub zrzyj: String,
    pub rfb: String,
    pub hjfj: String,
    pub issue: String,
    pub centre: String,
    pub supervisor: String,
    pub auditor: String,
}

pub struct Api {
    pub router: Router,
    pub service: Arc<Service>,
    pub accounts: Arc<Accounts>,
    pub kv: Arc<dyn Kv>,
    pub clock: Arc<Clock>,
    pub dir: tempfile::TempDir,
}

impl Api {
    /// A hall node with the sample catalog and the test staff.
    pub async fn hall() -> Api {
        Api::new(true, ApiConfig::default()).await
    }

    pub async fn township() -> Api {
        Api::new(false, ApiConfig::default()).await
    }

    pub async fn new(hall: bool, config: ApiConfig) -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        let kv: Arc<dyn Kv> = Arc::new(SledKv::open(&dir.path().join("store")).expect("store opens"));
        let name = if hall { "hall" } else { "town-a" };
        let store = Arc::new(
            CaseStore::open(
                kv.clone(),
                name.as_bytes().to_vec(),
                StoreConfig::default(),
                WorkCalendar::builtin(),
            )
            .expect("case store"),
        );
        let catalog_store = store.clone();
        let attachments = Arc::new(
            AttachmentStore::open(&dir.path().join("attachments"), 1024 * 1024).expect("attachments"),
        );
        let clock = Arc::new(Clock::system());
        // Every test starts at the same working-day morning, whatever the real date: deadlines
        // in working days stay inside the built-in calendar's years and tests stay repeatable.
        clock.advance_ms(ms_from_local(start()) - clock.now_ms());
        let code = if hall { "410184000" } else { "410184001" };
        let info = NodeInfo {
            name: NodeName::new(name),
            code: NodeCode::parse(code).expect("node code"),
            scope: code.to_string(),
            hall,
        };
        let service = Arc::new(Service::new(info, store, kv.clone(), attachments, clock.clone()));
        catalog_store.put_reference(RefKind::Catalog, &Catalog::sample()).expect("catalog");
        let accounts = Arc::new(
            Accounts::open(
                kv.clone(),
                AccountsConfig { argon2_cost: Argon2Cost::FAST_FOR_TESTS, ..AccountsConfig::default() },
            )
            .expect("accounts"),
        );
        for (staff, role) in staff_roles() {
            accounts.add(staff, &format!("{staff} 姓名"), role, PASSWORD, 0).expect("staff added");
        }
        let state = AppState::new(service.clone(), accounts.clone(), None, ADMIN_TOKEN.to_string(), config);
        Api { router: api::router(state), service, accounts, kv, clock, dir }
    }

    /// Logs every member of staff in (again: sessions expire when the clock moves on).
    pub async fn tokens(&self) -> Tokens {
        Tokens {
            clerk: self.login("clerk01").await,
            bdc: self.login("bdc01").await,
            scj: self.login("scj01").await,
            zjj: self.login("zjj01").await,
            zrzyj: self.login("zrzyj01").await,
            rfb: self.login("rfb01").await,
            hjfj: self.login("hjfj01").await,
            issue: self.login("issue01").await,
            centre: self.login("centre01").await,
            supervisor: self.login("super01").await,
            auditor: self.login("audit01").await,
        }
    }

    /// Receives an application and returns the new case's id (asserts 201).
    pub async fn intake(&self, token: &str, body: Value) -> String {
        let (status, out) = self.post(token, "/api/v1/cases", body).await;
        assert_eq!(status, 201, "intake: {out:#}");
        out["case"]["id"].as_str().expect("case id").to_string()
    }

    /// One step of a case (`POST /api/v1/cases/{id}/{step}`).
    pub async fn step(&self, token: &str, id: &str, step: &str, body: Value) -> (u16, Value) {
        self.post(token, &format!("/api/v1/cases/{id}/{step}"), body).await
    }

    /// One step that must succeed; returns the case view after it.
    pub async fn step_ok(&self, token: &str, id: &str, step: &str, body: Value) -> Value {
        let (status, out) = self.step(token, id, step, body).await;
        assert_eq!(status, 200, "step {step} on {id}: {out:#}");
        out["case"].clone()
    }

    /// A case as `GET /api/v1/cases/{id}` shows it.
    pub async fn case(&self, token: &str, id: &str) -> Value {
        let (status, out) = self.get(token, &format!("/api/v1/cases/{id}")).await;
        assert_eq!(status, 200, "case {id}: {out:#}");
        out
    }

    /// Logs in and returns the bearer token.
    pub async fn login(&self, staff: &str) -> String {
        let (status, body) = self
            .call("POST", "/api/v1/auth/login", None, Some(json!({ "staff": staff, "password": PASSWORD })))
            .await;
        assert_eq!(status, 200, "login {staff}: {body:#}");
        body["token"].as_str().expect("token").to_string()
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, bytes) = self
            .raw(method, path, token, body.map(|b| ("application/json", b.to_string().into_bytes())))
            .await;
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    /// Any request; returns status, content type and body bytes.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> (u16, String, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some((content_type, bytes)) => {
                req.header(header::CONTENT_TYPE, content_type).body(Body::from(bytes))
            }
            None => req.body(Body::empty()),
        }
        .expect("request builds");
        let response = self.router.clone().oneshot(req).await.expect("router answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = response.into_body().collect().await.expect("body").to_bytes().to_vec();
        (status, content_type, bytes)
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.call("GET", path, Some(token), None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(token), Some(body)).await
    }

    /// Every key of the node's store (to prove a refused request wrote nothing).
    pub fn keys(&self) -> Vec<Vec<u8>> {
        self.kv.range(b"", &[0xff; 8], usize::MAX).expect("range").into_iter().map(|(k, _)| k).collect()
    }
}

/// Materials all present.
pub fn present(codes: &[&str]) -> Value {
    Value::Array(
        codes.iter().map(|c| json!({ "code": c, "condition": { "condition": "present" } })).collect(),
    )
}

/// The applicant of [`clerk_intake`].
pub const APPLICANT: &str = "11010519491231002X";
/// Other valid citizen ID numbers (check digits computed per GB 11643).
pub const APPLICANT_2: &str = "110105199001011232";
pub const APPLICANT_3: &str = "320106198506152015";

/// An intake of `item` at the hall window by `applicant` with these materials present.
pub fn intake_of(item: &str, applicant: &str, codes: &[&str]) -> Value {
    json!({
        "item": item,
        "applicant": { "id": applicant, "name": "王五", "phone": "13900000000", "address": "新郑市人民路1号" },
        "channel": { "channel": "hall" },
        "presented": present(codes),
    })
}

/// Asserts a refusal: its status, problem+json `code` and (when given) `rule`.
pub fn assert_problem(got: (u16, &Value), status: u16, code: &str, rule: Option<&str>) {
    let (got_status, body) = got;
    assert_eq!(got_status, status, "expected {status} {code}: {body:#}");
    assert_eq!(body["code"], code, "{body:#}");
    assert_eq!(body["status"], status, "{body:#}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "a detail for the clerk: {body:#}");
    if let Some(rule) = rule {
        assert_eq!(body["rule"], rule, "{body:#}");
    }
}

/// An intake of the sample catalog's BDC001 at the hall window with these materials present.
pub fn clerk_intake(codes: &[&str]) -> Value {
    json!({
        "item": "BDC001",
        "applicant": { "id": "11010519491231002X", "name": "张三", "phone": "13800000000" },
        "channel": { "channel": "hall" },
        "presented": present(codes),
    })
}
