//! The web console: plain HTML, CSS and JavaScript modules (`node/console/`), compiled into the
//! binary with `include_str!` and served at `/` (the page) and `/console/{file}` (its assets).
//!
//! Architecture Invariant: the console needs nothing but this node. No CDN, no external font, no
//! external script (a township may have no internet at all); a test checks that no asset names
//! another origin. Every response carries a strict Content-Security-Policy without inline
//! scripts or styles; the console talks to the node only through the JSON API with the bearer
//! token of a login session (`sessionStorage`), like any other client.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{AppState, Problem};
use crate::service::ServiceError;

/// The Content-Security-Policy of every console response: only this node's own scripts,
/// styles and API; frames only for the print preview (a blob of a document page).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data: blob:; \
     style-src 'self'; script-src 'self'; frame-src 'self' blob:; connect-src 'self'";

/// Browsers revalidate every asset (cheap: an ETag answers 304), so a node upgraded with a new
/// console is never mixed with the old one's cached modules.
pub const CACHE_CONTROL: &str = "no-cache";

/// One file of the console.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of `node/console/` the page loads (the README is not served).
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../console/index.html"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../console/app.css"),
    },
    Asset { name: "app.js", content_type: JS, body: include_str!("../../console/app.js") },
    Asset { name: "lib.js", content_type: JS, body: include_str!("../../console/lib.js") },
    Asset { name: "steps.js", content_type: JS, body: include_str!("../../console/steps.js") },
    Asset { name: "charts.js", content_type: JS, body: include_str!("../../console/charts.js") },
    Asset { name: "print.js", content_type: JS, body: include_str!("../../console/print.js") },
    Asset { name: "page-login.js", content_type: JS, body: include_str!("../../console/page-login.js") },
    Asset { name: "page-window.js", content_type: JS, body: include_str!("../../console/page-window.js") },
    Asset { name: "page-cases.js", content_type: JS, body: include_str!("../../console/page-cases.js") },
    Asset { name: "page-desk.js", content_type: JS, body: include_str!("../../console/page-desk.js") },
    Asset {
        name: "page-supervision.js",
        content_type: JS,
        body: include_str!("../../console/page-supervision.js"),
    },
    Asset { name: "page-network.js", content_type: JS, body: include_str!("../../console/page-network.js") },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../../console/favicon.svg"),
    },
];

/// The console's routes (listed in the OpenAPI document by [`OPERATIONS`]).
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(index)).route("/console/{file}", get(asset))
}

/// (method, path, summary, tag, rule) of the routes above, for the OpenAPI document.
pub const OPERATIONS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    ("get", "/", "网页控制台(窗口、部门、监察使用的中文界面)", "控制台", None),
    ("get", "/console/{file}", "网页控制台的静态文件(脚本、样式、图标)", "控制台", None),
];

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// The strong ETag of an asset: a hash of its bytes.
fn etag(asset: &Asset) -> String {
    let hash = blake3::hash(asset.body.as_bytes()).to_hex();
    format!("\"{}\"", &hash.as_str()[..32])
}

fn serve(asset: &'static Asset, request: &HeaderMap) -> Response {
    let tag = etag(asset);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut response =
        if fresh { StatusCode::NOT_MODIFIED.into_response() } else { asset.body.into_response() };
    let headers = response.headers_mut();
    if !fresh {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

async fn index(headers: HeaderMap) -> Response {
    match find("index.html") {
        Some(asset) => serve(asset, &headers),
        None => Problem::from(ServiceError::internal("控制台页面缺失")).into_response(),
    }
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match find(&file).filter(|a| a.name != "index.html") {
        Some(asset) => serve(asset, &headers),
        None => Problem::from(ServiceError::not_found(
            "console.asset_not_found",
            format!("控制台没有这个文件:{file}"),
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The modules the page imports, from `import … from "./x.js"` lines of every script.
    fn imports(body: &str) -> Vec<String> {
        body.lines()
            .filter(|l| l.trim_start().starts_with("import ") || l.trim_start().starts_with("} from "))
            .filter_map(|l| l.split_once("from \"./").map(|(_, rest)| rest))
            .filter_map(|rest| rest.split_once('"').map(|(name, _)| name.to_string()))
            .collect()
    }

    /// An ` onclick=`-style attribute: ` on`, letters, `=`.
    fn has_event_attribute(html: &str) -> bool {
        html.match_indices(" on").any(|(at, _)| {
            let rest = &html[at + 3..];
            let letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
            letters > 0 && rest[letters..].starts_with('=')
        })
    }

    #[test]
    fn every_imported_module_and_linked_file_is_served() {
        for asset in ASSETS {
            for name in imports(asset.body) {
                assert!(find(&name).is_some(), "{} imports {name}, which is not in ASSETS", asset.name);
            }
        }
        let index = find("index.html").map(|a| a.body).unwrap_or_default();
        for linked in ["/console/app.css", "/console/app.js", "/console/favicon.svg"] {
            assert!(index.contains(linked), "index.html links {linked}");
        }
    }

    /// The console works in a township with no internet: nothing names another origin.
    #[test]
    fn no_asset_loads_anything_from_another_origin() {
        for asset in ASSETS {
            for banned in ["http://", "https://", "//cdn", "@import", "fonts.googleapis"] {
                // The SVG namespace is a name, not a location the browser loads.
                let body = asset.body.replace("http://www.w3.org/2000/svg", "");
                assert!(!body.contains(banned), "{} contains {banned}", asset.name);
            }
        }
    }

    /// The strict CSP forbids inline scripts and styles: the page has none.
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".html")) {
            assert!(!asset.body.contains("<style"), "{}: inline <style>", asset.name);
            assert!(!asset.body.contains(" style=\""), "{}: style attribute", asset.name);
            assert!(!has_event_attribute(asset.body), "{}: inline event handler", asset.name);
            for (at, _) in asset.body.match_indices("<script") {
                let tag = &asset.body[at..asset.body[at..].find('>').map_or(asset.body.len(), |e| at + e)];
                assert!(tag.contains("src="), "{}: inline script {tag}", asset.name);
            }
        }
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            // Style attributes are blocked by the CSP: scripts set classes, never `style="…"`.
            assert!(!asset.body.contains("innerHTML"), "{}: builds DOM nodes, not HTML strings", asset.name);
            assert!(!asset.body.contains("eval("), "{}", asset.name);
        }
    }
}
