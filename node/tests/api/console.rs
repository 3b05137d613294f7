//! The web console as the browser gets it: the page and its assets from the binary, with the
//! strict Content-Security-Policy, revalidated by ETag; and the data route its trend chart uses.

use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;
use yikou_node::api::console::{ASSETS, CONTENT_SECURITY_POLICY};

use crate::harness::{Api, DAY_MS, assert_problem, clerk_intake};

async fn fetch(api: &Api, path: &str, if_none_match: Option<&str>) -> (u16, HeaderMap, Vec<u8>) {
    let mut req = Request::builder().uri(path);
    if let Some(tag) = if_none_match {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    let response =
        api.router.clone().oneshot(req.body(Body::empty()).expect("request")).await.expect("answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, headers, bytes)
}

fn header_of(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The page at `/` needs no login (it shows the login form itself) and names only its own assets.
#[tokio::test]
async fn the_console_page_is_served_at_the_root_with_a_strict_csp() {
    let api = Api::hall().await;
    let (status, headers, body) = fetch(&api, "/", None).await;
    assert_eq!(status, 200);
    assert!(header_of(&headers, header::CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(header_of(&headers, header::CONTENT_SECURITY_POLICY), CONTENT_SECURITY_POLICY);
    assert!(
        CONTENT_SECURITY_POLICY.contains("script-src 'self'") && !CONTENT_SECURITY_POLICY.contains("unsafe")
    );
    assert_eq!(header_of(&headers, header::CACHE_CONTROL), "no-cache");
    let html = String::from_utf8(body).expect("utf-8");
    for hook in ["id=\"offline-banner\"", "id=\"message\"", "role=\"status\"", "data-menu", "/console/app.js"]
    {
        assert!(html.contains(hook), "the page has {hook}");
    }
}

/// Every asset is served with its content type, the CSP, and an ETag that answers 304.
#[tokio::test]
async fn every_asset_is_served_with_its_type_and_revalidates_by_etag() {
    let api = Api::hall().await;
    for asset in ASSETS.iter().filter(|a| a.name != "index.html") {
        let path = format!("/console/{}", asset.name);
        let (status, headers, body) = fetch(&api, &path, None).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(header_of(&headers, header::CONTENT_TYPE), asset.content_type, "{path}");
        assert_eq!(header_of(&headers, header::CONTENT_SECURITY_POLICY), CONTENT_SECURITY_POLICY);
        assert_eq!(header_of(&headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(body, asset.body.as_bytes(), "{path}");
        let tag = header_of(&headers, header::ETAG).to_string();
        assert!(tag.starts_with('"') && tag.len() > 10, "{path}: {tag}");
        let (status, _, body) = fetch(&api, &path, Some(&tag)).await;
        assert_eq!((status, body.len()), (304, 0), "{path} revalidated");
    }
    let (status, headers, body) = fetch(&api, "/console/secret.txt", None).await;
    assert_eq!(status, 404);
    assert!(header_of(&headers, header::CONTENT_TYPE).starts_with("application/problem+json"));
    assert!(String::from_utf8_lossy(&body).contains("console.asset_not_found"));
    // The page itself is only at `/`.
    assert_eq!(fetch(&api, "/console/index.html", None).await.0, 404);
}

/// rule W9: the trend chart's data: every day of the period with the cards recorded on it, for
/// supervision readers only, a department its own only.
#[tokio::test]
async fn the_trend_counts_cards_per_day_for_supervision_readers() {
    let api = Api::hall().await;
    let t = api.tokens().await;
    let id = api.intake(&t.clerk, clerk_intake(&["M01", "M02", "M03", "M04", "M05", "M06"])).await;
    api.step_ok(&t.clerk, &id, "accept", json!({ "presented": [] })).await;
    // The materials are not handed over by 14:00: the next day the handover duty is overdue.
    api.clock.advance_ms(2 * DAY_MS);
    let t = api.tokens().await;
    let (status, pass) = api.post(&t.supervisor, "/api/v1/supervision/run", json!({})).await;
    assert_eq!(status, 200, "{pass:#}");
    assert!(pass["cards_recorded"].as_u64().unwrap_or(0) > 0, "{pass:#}");

    let (status, trend) =
        api.get(&t.supervisor, "/api/v1/supervision/trend?from=2026-03-09&to=2026-03-13").await;
    assert_eq!(status, 200, "{trend:#}");
    let days = trend["days"].as_array().expect("days");
    assert_eq!(days.len(), 5);
    assert_eq!(days[0]["date"], "2026-03-09");
    let on_12th = &days[3];
    assert_eq!(on_12th["date"], "2026-03-12");
    let total: u64 = ["warning", "yellow", "red"].iter().filter_map(|l| on_12th[*l].as_u64()).sum();
    assert_eq!(total, pass["cards_recorded"].as_u64().unwrap_or(0), "{trend:#}");
    assert_eq!(days[0]["yellow"], 0);

    // A department reviewer sees its own department only; a clerk does not read supervision.
    let (status, own) = api.get(&t.bdc, "/api/v1/supervision/trend?from=2026-03-12&to=2026-03-12").await;
    assert_eq!((status, own["department"].as_str()), (200, Some("BDCDJ")), "{own:#}");
    let (status, out) =
        api.get(&t.scj, "/api/v1/supervision/trend?from=2026-03-12&to=2026-03-12&department=BDCDJ").await;
    assert_problem((status, &out), 403, "permission.denied", Some("W9"));
    let (status, out) = api.get(&t.clerk, "/api/v1/supervision/trend?from=2026-03-12&to=2026-03-12").await;
    assert_problem((status, &out), 403, "permission.denied", Some("W9"));
    let (status, out) =
        api.get(&t.supervisor, "/api/v1/supervision/trend?from=2026-03-12&to=2026-03-01").await;
    assert_problem((status, &out), 422, "trend.period_reversed", Some("W9"));
}
