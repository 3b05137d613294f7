//! The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.json`. Schemas of bodies come
//! from the Rust types themselves (schemars, JSON Schema 2020-12), so they cannot drift from what
//! serde reads and writes. Every route of [`super::routes`] is listed here; a test checks it.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use super::problem::Problem;
use super::routes::{CatalogQuery, LoginRequest, NewUser, STEPS};
use crate::service::cases::{CaseFilter, IntakeRequest};

/// The API version in the document (`info.version`).
pub const API_VERSION: &str = "1.0.0";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    Staff,
    Admin,
    StaffOrAdmin,
}

struct Op {
    method: &'static str,
    path: String,
    summary: String,
    tag: &'static str,
    access: Access,
    rule: Option<&'static str>,
    body: Option<(&'static str, Value)>,
    ok_status: u16,
    ok: (&'static str, Value),
    query: Vec<(&'static str, &'static str)>,
}

struct Gen {
    generator: SchemaGenerator,
}

impl Gen {
    fn schema<T: JsonSchema>(&mut self) -> Value {
        let s: Schema = self.generator.subschema_for::<T>();
        s.to_value()
    }
}

fn any_object(description: &str) -> Value {
    json!({ "type": "object", "description": description })
}

fn op(method: &'static str, path: &str, summary: &str, tag: &'static str, access: Access) -> Op {
    Op {
        method,
        path: path.to_string(),
        summary: summary.to_string(),
        tag,
        access,
        rule: None,
        body: None,
        ok_status: 200,
        ok: ("application/json", any_object("见说明")),
        query: Vec::new(),
    }
}

impl Op {
    fn rule(mut self, rule: &'static str) -> Op {
        self.rule = Some(rule);
        self
    }
    fn body(mut self, schema: Value) -> Op {
        self.body = Some(("application/json", schema));
        self
    }
    fn body_as(mut self, media: &'static str, schema: Value) -> Op {
        self.body = Some((media, schema));
        self
    }
    fn ok(mut self, status: u16, media: &'static str, schema: Value) -> Op {
        self.ok_status = status;
        self.ok = (media, schema);
        self
    }
    fn query(mut self, params: &[(&'static str, &'static str)]) -> Op {
        self.query = params.to_vec();
        self
    }
}

/// The body schema of one step: the [`EventKind`](yikou_schema::case::EventKind) variant with
/// that `kind`, without the `kind` property (the path names it).
fn step_body(definitions: &Map<String, Value>, kind: &str) -> Value {
    let variants = definitions
        .get("EventKind")
        .and_then(|e| e.get("oneOf").or_else(|| e.get("anyOf")))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for mut v in variants {
        let tag =
            v.pointer("/properties/kind/const").or_else(|| v.pointer("/properties/kind/enum/0")).cloned();
        if tag.as_ref().and_then(Value::as_str) != Some(kind) {
            continue;
        }
        if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
            props.remove("kind");
        }
        if let Some(req) = v.get_mut("required").and_then(Value::as_array_mut) {
            req.retain(|r| r != "kind");
        }
        return v;
    }
    any_object("步骤内容")
}

fn operations(g: &mut Gen) -> Vec<Op> {
    use Access::*;
    let problem = g.schema::<Problem>();
    let _ = problem;
    let intake = g.schema::<IntakeRequest>();
    let filter_fields: Vec<(&'static str, &'static str)> = vec![
        ("phase", "办件状态,如 received、in_review"),
        ("applicant", "申请人证件号码"),
        ("item", "事项编码"),
        ("department", "部门编码"),
        ("due", "承诺办结日期 YYYY-MM-DD"),
        ("scope", "所属乡镇(或大厅)编码"),
        ("limit", "最多返回条数"),
    ];
    let _ = g.schema::<CaseFilter>();
    let mut ops = vec![
        op("get", "/healthz", "健康检查", "运维", Public),
        op("get", "/metrics", "Prometheus 指标", "运维", Public).ok(200, "text/plain", json!({"type": "string"})),
        op("get", "/api/v1/openapi.json", "本 API 的 OpenAPI 文档", "运维", Public),
        op("post", "/api/v1/auth/login", "登录,取得会话凭证", "登录", Public).body(g.schema::<LoginRequest>()),
        op("post", "/api/v1/auth/logout", "退出登录", "登录", Staff),
        op("get", "/api/v1/auth/me", "当前登录人员", "登录", Staff),
        op("post", "/api/v1/eligibility", "容缺受理条件即时核验(不写入)", "受理", Staff).rule("T1").body(intake.clone()),
        op("post", "/api/v1/cases", "接件(各渠道),并给出容缺受理核验结果", "受理", Staff)
            .rule("W3.2")
            .body(intake)
            .ok(201, "application/json", any_object("办件及容缺受理核验结果")),
        op("get", "/api/v1/cases", "办件查询(条件可组合)", "办件", Staff).query(&filter_fields),
        op("get", "/api/v1/cases/{id}", "办件详情:状态、时间线、文书、时限", "办件", Staff).rule("W9"),
        op("get", "/api/v1/cases/{id}/timeline", "办件时间线", "办件", Staff).rule("W9"),
        op("get", "/api/v1/cases/{id}/automerge", "办件的 Automerge 原始文档(审计及其他 Automerge 工具)", "办件", Staff)
            .ok(200, "application/octet-stream", json!({"type": "string", "contentMediaType": "application/octet-stream"})),
        op("get", "/api/v1/cases/{id}/documents", "办件可打印文书列表", "文书", Staff),
        op("get", "/api/v1/cases/{id}/documents/{kind}", "可打印文书(A4 HTML)", "文书", Staff)
            .ok(200, "text/html", json!({"type": "string"})),
        op("post", "/api/v1/attachments", "上传扫描件(原始字节)", "材料", Staff)
            .rule("W3.2")
            .body_as("application/octet-stream", json!({"type": "string", "contentMediaType": "application/octet-stream"}))
            .ok(201, "application/json", json!({"type": "object", "properties": {"hash": {"type": "string"}, "bytes": {"type": "integer"}}})),
        op("get", "/api/v1/attachments/{hash}", "下载扫描件", "材料", Staff)
            .ok(200, "application/octet-stream", json!({"type": "string", "contentMediaType": "application/octet-stream"})),
        op("get", "/api/v1/catalog", "事项清单(format=json 或 toml)", "事项清单", StaffOrAdmin)
            .rule("T4")
            .query(&[("format", "json 或 toml")]),
        op("get", "/api/v1/catalog/items/{code}", "单个事项及其材料清单", "事项清单", Staff).rule("W3.6"),
        op("post", "/api/v1/catalog/adjustments", "事项清单调整(政务服务中心,仅大厅节点)", "事项清单", Staff)
            .rule("W11")
            .body(any_object("调整:add_item / update_item / cancel_item")),
        op("get", "/api/v1/dishonesty", "失信名单", "容缺受理", Staff).rule("T3.6"),
        op("get", "/api/v1/supervision/cards", "红黄牌与预警(未办结办件的各项时限)", "电子监察", Staff).rule("W9"),
        op("post", "/api/v1/supervision/run", "立即执行一次电子监察", "电子监察", Staff).rule("W9"),
        op("get", "/api/v1/conflicts", "同步后冲突队列", "电子监察", Staff).rule("O4"),
        op("get", "/api/v1/peers", "各同步节点状态", "同步", Staff).rule("O3"),
        op("get", "/api/v1/status", "节点状态(是否离线、同步进度)", "同步", StaffOrAdmin).rule("O1"),
        op("post", "/api/v1/admin/users", "新增工作人员账号", "管理", Admin).body(g.schema::<NewUser>()).ok(
            201,
            "application/json",
            any_object("账号"),
        ),
        op("get", "/api/v1/admin/users", "工作人员账号列表", "管理", Admin),
        op("post", "/api/v1/admin/users/{staff}/disable", "停用账号", "管理", Admin),
        op("put", "/api/v1/admin/catalog", "导入事项清单(TOML,仅大厅节点)", "管理", Admin)
            .rule("W11")
            .body_as("application/toml", json!({"type": "string"})),
        op("put", "/api/v1/admin/calendar", "导入工作日历(TOML,仅大厅节点)", "管理", Admin)
            .body_as("application/toml", json!({"type": "string"})),
        op("post", "/api/v1/admin/backup", "节点备份(一致的逻辑备份)", "管理", Admin)
            .ok(200, "application/octet-stream", json!({"type": "string", "contentMediaType": "application/octet-stream"})),
    ];
    let _ = g.schema::<CatalogQuery>();
    let _ = g.schema::<yikou_schema::case::EventKind>();
    let definitions = g.generator.definitions().clone();
    for step in STEPS {
        ops.push(
            op("post", &format!("/api/v1/cases/{{id}}/{}", step.path), step.summary, "办件步骤", Staff)
                .rule(step.rule)
                .body(step_body(&definitions, step.kind)),
        );
    }
    // The web console: a page and its static files, public (the page asks for a login itself).
    for (method, path, summary, tag, _) in super::console::OPERATIONS {
        let media = if *path == "/" { "text/html" } else { "text/javascript" };
        ops.push(op(method, path, summary, tag, Public).ok(200, media, json!({"type": "string"})));
    }
    for (method, path, summary, tag, rule) in super::console_data::OPERATIONS {
        let mut o = op(method, path, summary, tag, Staff).query(super::console_data::QUERY);
        if let Some(r) = rule {
            o = o.rule(r);
        }
        ops.push(o);
    }
    ops.extend(super::routes::extra_operations().into_iter().map(|(method, path, summary, tag, rule)| {
        let mut o = op(method, path, summary, tag, Staff);
        if method == "get" {
            o = match path {
                "/api/v1/appointments" => {
                    o.query(&[("date", "日期 YYYY-MM-DD"), ("business", "业务(事项编码)")])
                }
                _ => o.query(&[
                    ("from", "起始日期 YYYY-MM-DD"),
                    ("to", "截止日期 YYYY-MM-DD"),
                    ("department", "部门编码"),
                ]),
            };
        }
        if path.ends_with("/xlsx") {
            o = o.ok(
                200,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                json!({"type": "string"}),
            );
        }
        match rule {
            Some(r) => o.rule(r),
            None => o,
        }
    }));
    ops
}

fn path_params(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

/// The whole document.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut g = Gen { generator: settings.into_generator() };
    let problem_ref = g.schema::<Problem>();
    let ops = operations(&mut g);
    let mut paths = Map::new();
    for o in &ops {
        let mut operation = Map::new();
        operation.insert("summary".into(), json!(o.summary));
        operation.insert("tags".into(), json!([o.tag]));
        operation.insert(
            "operationId".into(),
            json!(format!("{}{}", o.method, o.path.replace(['/', '{', '}', '.', '-'], "_"))),
        );
        if let Some(rule) = o.rule {
            operation.insert("description".into(), json!(format!("依据 RULES.md {rule}")));
            operation.insert("x-rule".into(), json!(rule));
        }
        let mut params: Vec<Value> = path_params(&o.path)
            .into_iter()
            .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        params.extend(o.query.iter().map(|(name, description)| {
            json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } })
        }));
        if !params.is_empty() {
            operation.insert("parameters".into(), Value::Array(params));
        }
        if let Some((media, schema)) = &o.body {
            operation.insert(
                "requestBody".into(),
                json!({ "required": true, "content": { *media: { "schema": schema } } }),
            );
        }
        let problem = json!({ "description": "问题详情(RFC 9457)", "content": { "application/problem+json": { "schema": problem_ref } } });
        let mut responses = Map::new();
        responses.insert(
            o.ok_status.to_string(),
            json!({ "description": "成功", "content": { o.ok.0: { "schema": o.ok.1 } } }),
        );
        responses.insert("4XX".into(), problem.clone());
        responses.insert("5XX".into(), problem);
        operation.insert("responses".into(), Value::Object(responses));
        match o.access {
            Access::Public => {
                operation.insert("security".into(), json!([]));
            }
            Access::Staff => {
                operation.insert("security".into(), json!([{ "session": [] }]));
            }
            Access::Admin => {
                operation.insert("security".into(), json!([{ "admin": [] }]));
            }
            Access::StaffOrAdmin => {
                operation.insert("security".into(), json!([{ "session": [] }, { "admin": [] }]));
            }
        }
        let entry = paths.entry(o.path.clone()).or_insert_with(|| json!({}));
        if let Some(map) = entry.as_object_mut() {
            map.insert(o.method.to_string(), Value::Object(operation));
        }
    }
    let schemas = g.generator.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "一口受理(Yikou)节点 API",
            "version": API_VERSION,
            "description": "县级政务服务一口受理与容缺受理节点的 HTTP JSON API。错误以 RFC 9457 problem+json 返回,含稳定错误码 code、所依据的规则 rule(RULES.md)和中文说明 detail。",
        },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": { "type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/login 取得的会话凭证" },
                "admin": { "type": "http", "scheme": "bearer", "description": "节点数据目录中的 admin.token(运维命令行使用)" },
            },
        },
    })
}

/// Every (method, path) the document lists.
pub fn listed_routes() -> Vec<(String, String)> {
    let doc = document();
    let mut out = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            if let Some(item) = item.as_object() {
                out.extend(item.keys().map(|m| (m.to_uppercase(), path.clone())));
            }
        }
    }
    out.sort();
    out
}
