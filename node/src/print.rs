//! Printable documents as HTML pages for A4 (打印文书).
//!
//! The schema decides *what* a form says ([`yikou_schema::documents`] builds a [`Document`]);
//! this module decides only how it looks on paper: one complete HTML5 page per document, with
//! print CSS for A4 and a screen view that looks like sheets of paper. Every copy (联) of a form
//! is its own sheet and its own printed page, so the commitment comes out three times, each copy
//! labelled (rule T3.2). Only what the [`Document`] holds is printed: its title, case number,
//! day of issue, copy label, fields, lists, paragraphs and signature lines; no legal text is
//! added here.
//!
//! **Architecture invariant:** a page loads nothing. No scripts, no web fonts, no stylesheets,
//! no images: township halls may have no internet, and a printed form must not depend on one.
//! Fonts are named from those installed locally (Noto/Source Han Serif, SimSun…), and a
//! Content-Security-Policy `<meta>` forbids every fetch and script even if a later edit slipped
//! one in. Every piece of text passes [`escape`].

use yikou_schema::documents::{Document, DocumentKind, cn_date};

/// The stylesheet of every page, inlined: A4 print layout and a paper-like screen view.
pub const PAGE_CSS: &str = r#"@page { size: A4; margin: 20mm 18mm; }
* { box-sizing: border-box; }
html { background: #e6e6e6; }
body {
  margin: 0;
  padding: 10mm 0;
  color: #000;
  font-family: "Noto Serif CJK SC", "Source Han Serif SC", "Source Han Serif CN", "Songti SC",
    "STSong", "SimSun", "NSimSun", serif;
  font-size: 12pt;
  line-height: 1.75;
}
.sheet {
  width: 210mm;
  min-height: 297mm;
  margin: 0 auto 10mm;
  padding: 20mm 18mm;
  background: #fff;
  box-shadow: 0 0.5mm 3mm rgba(0, 0, 0, 0.3);
}
.sheet.index { min-height: 0; }
.break { break-after: page; page-break-after: always; }
.copy { margin: 0; text-align: right; font-size: 10.5pt; }
h1 { margin: 3mm 0 5mm; text-align: center; font-size: 20pt; font-weight: bold; letter-spacing: 0.1em; }
.meta { display: flex; justify-content: space-between; margin: 0 0 3mm; font-size: 10.5pt; }
table.fields { width: 100%; margin: 0 0 5mm; border-collapse: collapse; }
.fields th, .fields td { padding: 1.2mm 2.5mm; border: 0.3mm solid #000; text-align: left; vertical-align: top; }
.fields th { width: 30%; font-weight: bold; }
h2 { margin: 4mm 0 1.5mm; font-size: 13pt; }
ol, ul { margin: 0 0 4mm; padding-left: 2em; }
ul.numbered { padding-left: 0; list-style: none; }
li { margin: 0 0 1mm; }
.empty { margin: 0 0 4mm; }
.text p { margin: 0 0 2mm; text-indent: 2em; text-align: justify; }
.signatures {
  display: grid;
  grid-template-columns: 1fr 1fr;
  gap: 6mm 10mm;
  margin-top: 10mm;
  break-inside: avoid;
  page-break-inside: avoid;
}
.sign { display: flex; align-items: flex-end; min-height: 10mm; }
.sign .blank { flex: 1; min-width: 25mm; height: 6mm; margin-left: 2mm; border-bottom: 0.3mm solid #000; }
.sign.date .blank { border-bottom: none; text-align: right; height: auto; }
.sign.seal { min-height: 28mm; }
.sign.paste { grid-column: 1 / -1; flex-direction: column; align-items: stretch; }
.sign.paste .blank { height: 45mm; margin: 2mm 0 0; border: 0.3mm dashed #000; }
.docs li { margin: 0 0 2mm; }
a { color: #000; }
@media print {
  html, body { background: none; }
  body { padding: 0; }
  .sheet { width: auto; min-height: 0; margin: 0; padding: 0; box-shadow: none; }
}
"#;

/// Forbids every fetch, script and frame; only the inline stylesheet applies.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The complete HTML page of `doc`: one sheet per copy (联), each on its own printed page and
/// labelled with its copy name (rule T3.2: the commitment's three copies).
pub fn page(doc: &Document) -> String {
    let mut out = head(&format!("{} {}", doc.title, doc.case_number));
    if doc.copies.is_empty() {
        sheet(&mut out, doc, None, true);
    }
    for (i, copy) in doc.copies.iter().enumerate() {
        sheet(&mut out, doc, Some(copy), i + 1 == doc.copies.len());
    }
    out.push_str(TAIL);
    out
}

/// A small page listing the documents available for a case, each linked to its `href`.
pub fn index_page(case_number: &str, kinds: &[(DocumentKind, String)]) -> String {
    let mut out = head(&format!("办件文书 {case_number}"));
    out.push_str("<article class=\"sheet index\">\n<header>\n<h1>办件文书</h1>\n");
    out.push_str(&format!(
        "<p class=\"meta\"><span>办件编号:{}</span></p>\n</header>\n",
        escape(case_number)
    ));
    if kinds.is_empty() {
        out.push_str("<p class=\"empty\">该办件暂无可打印的文书。</p>\n");
    } else {
        out.push_str("<ol class=\"docs\">\n");
        for (kind, href) in kinds {
            out.push_str(&format!("<li><a href=\"{}\">{}</a></li>\n", escape(href), escape(kind.title_zh())));
        }
        out.push_str("</ol>\n");
    }
    out.push_str("</article>\n");
    out.push_str(TAIL);
    out
}

const TAIL: &str = "</main>\n</body>\n</html>\n";

/// Everything up to and including `<main>`.
fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{PAGE_CSS}</style>\n</head>\n<body>\n<main>\n",
        escape(title)
    )
}

/// One copy of `doc` as a sheet; every sheet but the last ends its printed page.
fn sheet(out: &mut String, doc: &Document, copy: Option<&str>, last: bool) {
    let class = if last { "sheet" } else { "sheet break" };
    out.push_str(&format!("<article class=\"{class}\" data-kind=\"{}\">\n<header>\n", kind_key(doc.kind)));
    if let Some(copy) = copy {
        out.push_str(&format!("<p class=\"copy\">{}</p>\n", escape(copy)));
    }
    out.push_str(&format!("<h1>{}</h1>\n", escape(&doc.title)));
    out.push_str(&format!(
        "<p class=\"meta\"><span>办件编号:{}</span><span>出具日期:{}</span></p>\n</header>\n",
        escape(&doc.case_number),
        escape(&cn_date(doc.issued_on))
    ));
    if !doc.fields.is_empty() {
        out.push_str("<table class=\"fields\">\n<tbody>\n");
        for f in &doc.fields {
            out.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>\n",
                escape(&f.label),
                escape(&f.value)
            ));
        }
        out.push_str("</tbody>\n</table>\n");
    }
    for list in &doc.lists {
        out.push_str(&format!("<section class=\"list\">\n<h2>{}</h2>\n", escape(&list.title)));
        if list.entries.is_empty() {
            out.push_str("<p class=\"empty\">(无)</p>\n");
        } else {
            // Entries the schema numbered itself ("1. …") are not numbered twice.
            let (open, close) = if numbered(&list.entries) {
                ("<ul class=\"numbered\">", "</ul>")
            } else {
                ("<ol>", "</ol>")
            };
            out.push_str(open);
            out.push('\n');
            for entry in &list.entries {
                out.push_str(&format!("<li>{}</li>\n", escape(entry)));
            }
            out.push_str(close);
            out.push('\n');
        }
        out.push_str("</section>\n");
    }
    if !doc.paragraphs.is_empty() {
        out.push_str("<section class=\"text\">\n");
        for p in &doc.paragraphs {
            out.push_str(&format!("<p>{}</p>\n", escape(p)));
        }
        out.push_str("</section>\n");
    }
    if !doc.signatures.is_empty() {
        out.push_str("<section class=\"signatures\">\n");
        for line in &doc.signatures {
            out.push_str(&signature(line));
        }
        out.push_str("</section>\n");
    }
    out.push_str("</article>\n");
}

/// A signature line: the label and a blank to sign on; a date line gets 年 月 日 to fill in, a
/// seal line room for the seal, a paste line (邮寄凭证粘贴处) a box.
fn signature(line: &str) -> String {
    let label = escape(line);
    if line.contains("粘贴") {
        format!(
            "<div class=\"sign paste\"><span class=\"label\">{label}</span><span class=\"blank\"></span></div>\n"
        )
    } else if line.ends_with("日期") {
        format!(
            "<div class=\"sign date\"><span class=\"label\">{label}:</span>\
             <span class=\"blank\">　　　　年　　月　　日</span></div>\n"
        )
    } else if line.contains("盖章") {
        format!(
            "<div class=\"sign seal\"><span class=\"label\">{label}</span><span class=\"blank\"></span></div>\n"
        )
    } else {
        format!(
            "<div class=\"sign\"><span class=\"label\">{label}</span><span class=\"blank\"></span></div>\n"
        )
    }
}

/// Whether the schema numbered the entries itself: "1. …", "2. …" in order.
fn numbered(entries: &[String]) -> bool {
    entries.iter().enumerate().all(|(i, e)| e.starts_with(&format!("{}. ", i + 1)))
}

/// The stable key of a kind (its serde name), for `data-kind`.
fn kind_key(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::CorrectionNotice => "correction_notice",
        DocumentKind::NonAcceptance => "non_acceptance",
        DocumentKind::IntakeReceipt => "intake_receipt",
        DocumentKind::ToleranceReceipt => "tolerance_receipt",
        DocumentKind::Commitment => "commitment",
        DocumentKind::MaterialsReceived => "materials_received",
        DocumentKind::Denial => "denial",
        DocumentKind::ResultHandover => "result_handover",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use yikou_schema::documents::{DocList, Field};

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        assert_eq!(escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(escape(r#"&"'"#), "&amp;&quot;&#39;");
        assert_eq!(escape("张三 & 李四"), "张三 &amp; 李四");
        assert_eq!(escape("&amp;"), "&amp;amp;");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn kind_keys_are_the_serde_names() {
        for kind in DocumentKind::ALL {
            let json = serde_json::to_value(kind).expect("serializes");
            assert_eq!(json.as_str(), Some(kind_key(kind)), "{kind:?}");
        }
    }

    #[test]
    fn numbered_entries_are_detected_in_order_only() {
        let v = |s: &[&str]| s.iter().map(|e| (*e).to_string()).collect::<Vec<_>>();
        assert!(numbered(&v(&["1. 甲", "2. 乙"])));
        assert!(!numbered(&v(&["1. 甲", "3. 乙"])));
        assert!(!numbered(&v(&["营业执照"])));
    }

    fn small() -> Document {
        Document {
            kind: DocumentKind::NonAcceptance,
            title: "不予受理决定书".to_string(),
            case_number: "410184001-20260302-0007".to_string(),
            issued_on: NaiveDate::from_ymd_opt(2026, 3, 2).expect("valid date"),
            copies: vec!["交申请人".to_string()],
            fields: vec![Field {
                label: "申请人".to_string(), value: "张三 <script>x</script>".to_string()
            }],
            lists: vec![DocList {
                title: "不予受理的具体理由".to_string(),
                entries: vec!["1. 经营场所位于\"禁止\"区域".to_string()],
            }],
            paragraphs: vec!["如不服本决定,可以依法申请行政复议。".to_string()],
            signatures: vec!["经办人(签字)".to_string(), "综合受理窗口(盖章)".to_string()],
        }
    }

    #[test]
    fn a_small_page_snapshot() {
        // rule W3.5: the non-acceptance decision prints its specific reasons.
        let html = page(&small());
        // The stylesheet is shown once, in the source, not in the snapshot.
        let shown = html.replace(PAGE_CSS, "/* PAGE_CSS */\n");
        expect_test::expect![[r#"
            <!DOCTYPE html>
            <html lang="zh-CN">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>不予受理决定书 410184001-20260302-0007</title>
            <style>
            /* PAGE_CSS */
            </style>
            </head>
            <body>
            <main>
            <article class="sheet" data-kind="non_acceptance">
            <header>
            <p class="copy">交申请人</p>
            <h1>不予受理决定书</h1>
            <p class="meta"><span>办件编号:410184001-20260302-0007</span><span>出具日期:2026年3月2日</span></p>
            </header>
            <table class="fields">
            <tbody>
            <tr><th scope="row">申请人</th><td>张三 &lt;script&gt;x&lt;/script&gt;</td></tr>
            </tbody>
            </table>
            <section class="list">
            <h2>不予受理的具体理由</h2>
            <ul class="numbered">
            <li>1. 经营场所位于&quot;禁止&quot;区域</li>
            </ul>
            </section>
            <section class="text">
            <p>如不服本决定,可以依法申请行政复议。</p>
            </section>
            <section class="signatures">
            <div class="sign"><span class="label">经办人(签字)</span><span class="blank"></span></div>
            <div class="sign seal"><span class="label">综合受理窗口(盖章)</span><span class="blank"></span></div>
            </section>
            </article>
            </main>
            </body>
            </html>
        "#]].assert_eq(&shown);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">"));
        assert!(html.contains("<title>不予受理决定书 410184001-20260302-0007</title>"));
        assert!(html.contains("@page { size: A4; margin: 20mm 18mm; }"));
    }

    #[test]
    fn a_page_loads_nothing() {
        let html = page(&small());
        for banned in ["<script", "<link", "<img", "@import", "url(", "http://", "https://", "src="] {
            assert!(!html.contains(banned), "{banned}");
        }
        assert!(html.contains("default-src 'none'"));
        let index = index_page("X", &[(DocumentKind::Commitment, "/c".to_string())]);
        assert!(!index.contains("<script") && !index.contains("url("));
    }

    #[test]
    fn index_page_links_every_document_escaped() {
        let html = index_page(
            "410184001-20260302-0007<b>",
            &[
                (DocumentKind::ToleranceReceipt, "/cases/1/documents/tolerance_receipt".to_string()),
                (DocumentKind::Commitment, "/x?a=1&b=\"2\"".to_string()),
            ],
        );
        assert!(html.contains("<title>办件文书 410184001-20260302-0007&lt;b&gt;</title>"));
        assert!(
            html.contains("<li><a href=\"/cases/1/documents/tolerance_receipt\">容缺受理回执单</a></li>")
        );
        assert!(html.contains("<li><a href=\"/x?a=1&amp;b=&quot;2&quot;\">限期补齐材料承诺书</a></li>"));
        assert!(!html.contains("<b>"));
        let empty = index_page("N", &[]);
        assert!(empty.contains("暂无可打印的文书"));
        assert!(empty.ends_with("</html>\n"));
    }
}
