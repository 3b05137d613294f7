//! # Documents: the Automerge layout of cases and of shared reference data
//!
//! **API Boundary.** Every case is one Automerge document, stored in sled and replicated between
//! nodes (and readable by other software, e.g. the JavaScript Automerge package). Its layout is a
//! promise to every other node, versioned by [`DOC_LAYOUT_VERSION`], snapshot-tested in
//! `node/tests/doc_layout.rs`, and changed only with a migration.
//!
//! ```text
//! case document                             reference document
//! {                                         {
//!   "layout":   1,        (int)               "layout":   1,        (int)
//!   "doc_type": "case",                       "doc_type": "catalog" | "calendar"
//!   "header":   { CaseHeader, as serde },                 | "dishonesty" | "quota_plan",
//!   "events":   [                             "data":     <the value, as serde>
//!     { "id": "<Event::id()>",              }
//!       ...Event, as serde... },
//!     ...
//!   ]
//! }
//! ```
//!
//! ## Why the serde layout, through a small bridge
//!
//! The domain types live in `yikou-schema`, which must never depend on Automerge (an architecture
//! test enforces it). So instead of deriving Automerge traits on them (autosurgeon), this module
//! maps their **serde representation** to Automerge with a generic bridge, `serde_json::Value` ⇄
//! Automerge: null, booleans, numbers, strings as plain scalar `Str` (never Automerge `Text`: 5–10×
//! the memory, and nothing here is edited character by character), arrays as List objects, objects
//! as Map objects. Integers are `Int` when they fit in an i64 and `Uint` above (`F64` for the
//! rest), so every serde_json number round-trips exactly; `Int` rather than `Uint` for ordinary
//! integers because that is what JavaScript Automerge writes and reads as a `number` (it reads a
//! `Uint`, even 1, as a `BigInt`, which `JSON.stringify` refuses). Reading is the
//! reverse: the document is read into a `serde_json::Value`, then `serde_json::from_value`.
//! Consequences: the stored layout is exactly the serde layout the schema already tests, any
//! Automerge implementation sees ordinary maps, lists and strings, and adding an optional field or
//! an enum variant in the schema needs no change here. (When reading, a `Text` object is accepted
//! as a string, so a document edited by a JavaScript tool, whose strings are `Text` by default,
//! still reads.)
//!
//! ## Merging
//!
//! A case's events are list elements appended at the end; appends by two nodes to the same
//! document both survive the merge (Automerge keeps both inserts), in the same order on every
//! replica. Each event map also carries its `"id"` ([`Event::id`], the HLC stamp) so that other
//! tools can see identity; [`CaseDoc::case`] drops repeated ids (the same event appended at two
//! nodes), keeping the first in document order. The order does not matter to the rules: the
//! schema's fold sorts events by HLC. The header is written once, when the case is received, and
//! never edited. Reference data is replaced whole ([`RefDoc::replace`]): it is edited rarely and
//! only by the hall centre, and a whole value cannot merge into a mixture of two editions.
//!
//! ## Trust
//!
//! Nothing here panics on any input. Bytes above [`DOC_BYTES_MAX`] are refused, and so are bytes
//! that are not whole Automerge chunks and documents without the layout's shape; the bridge stops
//! at [`DOC_DEPTH_MAX`] levels of nesting so that a hostile document cannot exhaust the stack.
//! Changes that arrive ([`Document::load_incremental`], [`Document::merge`]) are checked more
//! closely than a load (for a case: the header, every event, and that it is still the same case:
//! the same header and events objects, no second value on a root key, which is what changes of
//! another case mixed in look like); if the check fails the document is put back as it was and
//! the error returned, so nothing malformed is kept. Whether a peer had the right to make a
//! change is the store's and the sync layer's business, before the bytes reach here.

use std::collections::{HashMap, HashSet};

use automerge::hydrate;
use automerge::transaction::Transactable;
use automerge::{
    ActorId, AutoCommit, AutomergeError, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue,
};
use automerge::{ScalarValueRef, ValueRef};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use yikou_schema::case::{Case, CaseHeader, Event, EventId};

/// The version of the document layout described in the module documentation. A document with a
/// greater version was written by a newer node: it is refused ("upgrade the node"), not guessed at.
pub const DOC_LAYOUT_VERSION: u64 = 1;
/// The largest document (or incremental chunk) this node loads: 16 MiB. A typical case (five
/// events) is about 1.6 KB saved; the bound keeps one hostile or corrupt input from taking the node's memory.
pub const DOC_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The deepest nesting of maps and lists the bridge writes or reads (the root's values are at
/// depth 1). The schema's types nest about 6 deep; a hostile document cannot blow the stack.
pub const DOC_DEPTH_MAX: usize = 32;

/// [`DOC_LAYOUT_VERSION`] as stored: an `Int`, like every integer of the bridge (a small
/// constant: the cast cannot wrap).
const LAYOUT_INT: i64 = DOC_LAYOUT_VERSION as i64;

/// The `doc_type` of a case document.
pub const CASE_DOC_TYPE: &str = "case";

const KEY_LAYOUT: &str = "layout";
const KEY_DOC_TYPE: &str = "doc_type";
const KEY_HEADER: &str = "header";
const KEY_EVENTS: &str = "events";
const KEY_DATA: &str = "data";
/// The event's identity inside its map, next to the serde fields of [`Event`] (which has no field
/// of that name).
const KEY_EVENT_ID: &str = "id";

/// The first four bytes of every chunk of Automerge's storage format.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Magic (4) + checksum (4) + chunk type (1), before the ULEB128 length.
const CHUNK_HEADER_FIXED_BYTES: usize = 9;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a document cannot be loaded, read or changed. Messages are for operators and logs, in
/// Chinese, with the document's name where known (a case's number, a reference data kind);
/// [`DocError::code`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("文档{}已损坏,无法读取({detail}):请从其他节点重新同步该文档", label(.doc))]
    Corrupt { doc: Option<String>, detail: String },
    #[error("文档{}大小为 {bytes} 字节,超过上限 {max} 字节,已拒绝读取", label(.doc))]
    TooLarge { doc: Option<String>, bytes: usize, max: usize },
    #[error("文档{}采用第 {found} 版文档格式,本节点只支持到第 {supported} 版:请升级本节点软件", label(.doc))]
    LayoutNewer { doc: Option<String>, found: u64, supported: u64 },
    #[error("文档{}的结构不符合第 {} 版文档格式:{detail}", label(.doc), DOC_LAYOUT_VERSION)]
    Shape { doc: Option<String>, detail: String },
    #[error("文档{}的 Automerge 操作失败:{source}", label(.doc))]
    Automerge { doc: Option<String>, source: Box<AutomergeError> },
}

fn label(doc: &Option<String>) -> String {
    doc.as_ref().map(|d| format!("「{d}」")).unwrap_or_default()
}

impl DocError {
    /// A stable code for logs, metrics and tests.
    pub fn code(&self) -> &'static str {
        match self {
            DocError::Corrupt { .. } => "doc.corrupt",
            DocError::TooLarge { .. } => "doc.too_large",
            DocError::LayoutNewer { .. } => "doc.layout_newer",
            DocError::Shape { .. } => "doc.shape",
            DocError::Automerge { .. } => "doc.automerge",
        }
    }

    /// The document the error concerns, when known.
    pub fn doc(&self) -> Option<&str> {
        match self {
            DocError::Corrupt { doc, .. }
            | DocError::TooLarge { doc, .. }
            | DocError::LayoutNewer { doc, .. }
            | DocError::Shape { doc, .. }
            | DocError::Automerge { doc, .. } => doc.as_deref(),
        }
    }

    /// Names the document, unless the error already names one.
    fn about(mut self, name: &str) -> DocError {
        let (DocError::Corrupt { doc, .. }
        | DocError::TooLarge { doc, .. }
        | DocError::LayoutNewer { doc, .. }
        | DocError::Shape { doc, .. }
        | DocError::Automerge { doc, .. }) = &mut self;
        if doc.is_none() {
            *doc = Some(name.to_string());
        }
        self
    }
}

fn shape(detail: impl Into<String>) -> DocError {
    DocError::Shape { doc: None, detail: detail.into() }
}

fn corrupt(detail: impl Into<String>) -> DocError {
    DocError::Corrupt { doc: None, detail: detail.into() }
}

fn automerge_error(source: AutomergeError) -> DocError {
    DocError::Automerge { doc: None, source: Box::new(source) }
}

// ---------------------------------------------------------------------------------------------
// The bridge: serde_json::Value ⇄ Automerge
// ---------------------------------------------------------------------------------------------

/// Where a value goes: a key of a map, or a new element inserted into a list.
#[derive(Debug, Clone, Copy)]
enum Slot<'a> {
    Key(&'a str),
    Insert(usize),
}

/// Writes `value` into `obj` at `slot`; `depth` is the nesting level of the value (1 for the
/// root's values). An object is built as a whole and written with Automerge's batch insertion
/// (several times faster than one operation at a time; deterministic: map keys go in sorted order).
fn write_value(
    doc: &mut AutoCommit,
    obj: &ObjId,
    slot: Slot<'_>,
    value: &Value,
    depth: usize,
) -> Result<(), DocError> {
    let value = to_hydrate(value, depth)?;
    match (&value, slot) {
        (hydrate::Value::Scalar(scalar), Slot::Key(key)) => doc.put(obj, key, scalar.clone()),
        (hydrate::Value::Scalar(scalar), Slot::Insert(index)) => doc.insert(obj, index, scalar.clone()),
        (_, Slot::Key(key)) => doc.batch_create_object(obj, key, &value, false).map(drop),
        (_, Slot::Insert(index)) => doc.batch_create_object(obj, index, &value, true).map(drop),
    }
    .map_err(automerge_error)
}

/// The Automerge value of a JSON value at nesting level `depth`.
fn to_hydrate(value: &Value, depth: usize) -> Result<hydrate::Value, DocError> {
    Ok(match value {
        Value::Array(items) => {
            check_depth(depth)?;
            let items =
                items.iter().map(|item| to_hydrate(item, depth + 1)).collect::<Result<Vec<_>, _>>()?;
            hydrate::List::from(items).into()
        }
        Value::Object(fields) => {
            check_depth(depth)?;
            let fields = fields
                .iter()
                .map(|(key, field)| Ok((key.clone(), to_hydrate(field, depth + 1)?)))
                .collect::<Result<HashMap<_, _>, DocError>>()?;
            hydrate::Map::from(fields).into()
        }
        scalar => hydrate::Value::Scalar(scalar_from_json(scalar)?),
    })
}

/// Objects (maps, lists) may nest [`DOC_DEPTH_MAX`] deep; scalars do not count.
fn check_depth(depth: usize) -> Result<(), DocError> {
    if depth > DOC_DEPTH_MAX {
        return Err(shape(format!("值的嵌套超过 {DOC_DEPTH_MAX} 层")));
    }
    Ok(())
}

fn scalar_from_json(value: &Value) -> Result<ScalarValue, DocError> {
    Ok(match value {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(*b),
        Value::String(s) => ScalarValue::Str(s.as_str().into()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                ScalarValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                ScalarValue::Uint(u)
            } else if let Some(f) = n.as_f64() {
                ScalarValue::F64(f)
            } else {
                return Err(shape(format!("无法表示的数值 {n}")));
            }
        }
        // Objects and arrays are built by `to_hydrate` before it calls this.
        Value::Array(_) | Value::Object(_) => return Err(shape("内部错误:对象被当作标量写入")),
    })
}

/// Reads a map, list or text object as JSON; `depth` is its nesting level.
fn read_object(doc: &AutoCommit, obj: &ObjId, typ: ObjType, depth: usize) -> Result<Value, DocError> {
    check_depth(depth)?;
    match typ {
        ObjType::Map | ObjType::Table => {
            let mut fields = Map::new();
            for item in doc.map_range(obj, ..) {
                let value = read_item(doc, &item.value, || item.id(), depth)?;
                fields.insert(item.key.into_owned(), value);
            }
            Ok(Value::Object(fields))
        }
        ObjType::List => {
            let mut items = Vec::new();
            for item in doc.list_range(obj, ..) {
                items.push(read_item(doc, &item.value, || item.id(), depth)?);
            }
            Ok(Value::Array(items))
        }
        ObjType::Text => Ok(Value::String(doc.text(obj).map_err(automerge_error)?)),
    }
}

/// Reads one value found inside an object at nesting level `depth` (its id is only needed, and
/// only built, when it is an object).
fn read_item(
    doc: &AutoCommit,
    value: &ValueRef<'_>,
    id: impl FnOnce() -> ObjId,
    depth: usize,
) -> Result<Value, DocError> {
    match value {
        ValueRef::Object(typ) => read_object(doc, &id(), *typ, depth + 1),
        ValueRef::Scalar(scalar) => scalar_to_json(scalar),
    }
}

fn scalar_to_json(scalar: &ScalarValueRef<'_>) -> Result<Value, DocError> {
    Ok(match scalar {
        ScalarValueRef::Null => Value::Null,
        ScalarValueRef::Boolean(b) => Value::Bool(*b),
        ScalarValueRef::Str(s) => Value::String(s.to_string()),
        ScalarValueRef::Uint(u) => Value::from(*u),
        ScalarValueRef::Int(i) => Value::from(*i),
        ScalarValueRef::F64(f) => {
            Value::Number(Number::from_f64(*f).ok_or_else(|| shape(format!("无法表示的数值 {f}")))?)
        }
        ScalarValueRef::Bytes(_)
        | ScalarValueRef::Counter(_)
        | ScalarValueRef::Timestamp(_)
        | ScalarValueRef::Unknown { .. } => {
            return Err(shape(format!("出现本格式不使用的值类型({scalar})")));
        }
    })
}

/// The JSON value under `key` of the map `obj`, if present; `depth` is the nesting level of `obj`
/// (0 for the root).
fn read_key(doc: &AutoCommit, obj: &ObjId, key: &str, depth: usize) -> Result<Option<Value>, DocError> {
    let found = doc.map_range(obj, key.to_string()..=key.to_string()).next();
    found.map(|item| read_item(doc, &item.value, || item.id(), depth)).transpose()
}

/// The string under `key` of the map `obj`: a scalar string, or a Text object.
fn read_string(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<Option<String>, DocError> {
    match doc.get(obj, key).map_err(automerge_error)? {
        None => Ok(None),
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(text) => Ok(Some(text.to_string())),
            other => Err(shape(format!("字段 {key} 应为文本,实为 {other}"))),
        },
        Some((automerge::Value::Object(ObjType::Text), id)) => {
            doc.text(&id).map(Some).map_err(automerge_error)
        }
        Some((automerge::Value::Object(typ), _)) => {
            Err(shape(format!("字段 {key} 应为文本,实为 {typ} 对象")))
        }
    }
}

/// The object under `key` of the map `obj`, which must be of type `typ`.
fn object_at(doc: &AutoCommit, obj: &ObjId, key: &str, typ: ObjType) -> Result<ObjId, DocError> {
    match doc.get(obj, key).map_err(automerge_error)? {
        Some((automerge::Value::Object(found), id)) if found == typ => Ok(id),
        Some((found, _)) => Err(shape(format!("字段 {key} 应为 {typ} 对象,实为 {found}"))),
        None => Err(shape(format!("缺少字段 {key}"))),
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Value, DocError> {
    serde_json::to_value(value).map_err(|e| shape(format!("无法转换为文档值:{e}")))
}

fn from_json<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, DocError> {
    serde_json::from_value(value).map_err(|e| shape(format!("{what}无法读取:{e}")))
}

// ---------------------------------------------------------------------------------------------
// Bytes: bounds and chunk framing
// ---------------------------------------------------------------------------------------------

/// Refuses inputs above [`DOC_BYTES_MAX`] and bytes that are not a sequence of whole Automerge
/// chunks (magic, checksum, type, ULEB128 length, data). Automerge itself skips a broken trailing
/// chunk of an incremental load without an error; this catches truncation and garbage first.
fn check_bytes(bytes: &[u8]) -> Result<(), DocError> {
    if bytes.len() > DOC_BYTES_MAX {
        return Err(DocError::TooLarge { doc: None, bytes: bytes.len(), max: DOC_BYTES_MAX });
    }
    let mut rest = bytes;
    let mut offset = 0usize;
    while !rest.is_empty() {
        let truncated = || corrupt(format!("第 {offset} 字节起的数据块不完整"));
        let fixed = rest.get(..CHUNK_HEADER_FIXED_BYTES).ok_or_else(truncated)?;
        if fixed[..CHUNK_MAGIC.len()] != CHUNK_MAGIC {
            return Err(corrupt(format!("第 {offset} 字节起不是 Automerge 数据块")));
        }
        let (data_len, len_bytes) = uleb128(&rest[CHUNK_HEADER_FIXED_BYTES..]).ok_or_else(truncated)?;
        let chunk_len = usize::try_from(data_len)
            .ok()
            .and_then(|n| n.checked_add(CHUNK_HEADER_FIXED_BYTES + len_bytes))
            .filter(|&n| n <= rest.len())
            .ok_or_else(truncated)?;
        rest = &rest[chunk_len..];
        offset += chunk_len;
    }
    Ok(())
}

/// An unsigned LEB128 number at the start of `bytes` and how many bytes it took.
fn uleb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        let shift = 7 * u32::try_from(i).ok()?;
        if shift == 63 && bits > 1 {
            return None;
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Documents: what case and reference documents share
// ---------------------------------------------------------------------------------------------

/// The root of every document: `layout` and `doc_type`. Returns the document type.
fn check_root(doc: &AutoCommit) -> Result<String, DocError> {
    let layout = match doc.get(&ROOT, KEY_LAYOUT).map_err(automerge_error)? {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Uint(n) => Some(*n),
            ScalarValue::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        },
        _ => None,
    };
    let layout = layout.ok_or_else(|| shape("根对象缺少版式号 layout(或不是非负整数)"))?;
    if layout > DOC_LAYOUT_VERSION {
        return Err(DocError::LayoutNewer { doc: None, found: layout, supported: DOC_LAYOUT_VERSION });
    }
    if layout != DOC_LAYOUT_VERSION {
        return Err(shape(format!("未知的版式号 {layout}")));
    }
    read_string(doc, &ROOT, KEY_DOC_TYPE)?.ok_or_else(|| shape("根对象缺少文档类型 doc_type"))
}

/// A new document with the root's `layout` and `doc_type` (not committed yet).
fn new_root(actor: &[u8], doc_type: &str) -> Result<AutoCommit, DocError> {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(actor));
    doc.put(&ROOT, KEY_LAYOUT, ScalarValue::Int(LAYOUT_INT)).map_err(automerge_error)?;
    doc.put(&ROOT, KEY_DOC_TYPE, doc_type).map_err(automerge_error)?;
    Ok(doc)
}

/// What distinguishes one kind of document: the shape its root must have. Implemented by the
/// two layouts of this module, [`CaseLayout`] and [`RefLayout`].
pub trait Layout: Sized + PartialEq {
    /// Checks a whole document (on load): the root, and whatever is cheap enough to check on
    /// every load. Returns the layout's state, which must not change when changes arrive (for a
    /// case: which header and events objects it holds), and the document's name for messages.
    fn check(doc: &AutoCommit) -> Result<(Self, String), DocError>;

    /// Checks a document after changes from elsewhere were applied to it: [`Layout::check`],
    /// plus whatever else a foreign change could have broken.
    fn check_arrived(doc: &AutoCommit) -> Result<(Self, String), DocError> {
        Self::check(doc)
    }
}

/// An Automerge document of one layout. Use it as [`CaseDoc`] or [`RefDoc`].
pub struct Document<L: Layout> {
    am: AutoCommit,
    layout: L,
    /// The document's name in messages (a case number, a reference data kind).
    name: String,
    /// The heads at the last `save`, `save_incremental` or load: where `save_incremental`
    /// starts. Kept here because Automerge's own cursor starts empty after a load.
    saved_heads: Vec<ChangeHash>,
}

impl<L: Layout + std::fmt::Debug> std::fmt::Debug for Document<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("name", &self.name)
            .field("layout", &self.layout)
            .field("actor", self.am.get_actor())
            .finish_non_exhaustive()
    }
}

impl<L: Layout> Document<L> {
    fn from_new(mut am: AutoCommit, layout: L, name: String) -> Document<L> {
        am.commit();
        Document { am, layout, name, saved_heads: Vec::new() }
    }

    /// Loads a saved document (a [`Document::save`], or chunks of [`Document::save_incremental`]
    /// concatenated) and checks its layout and shape. `actor` is the Automerge actor id this
    /// process writes with.
    pub fn load(bytes: &[u8], actor: &[u8]) -> Result<Document<L>, DocError> {
        check_bytes(bytes)?;
        if bytes.is_empty() {
            return Err(corrupt("数据为空"));
        }
        let mut am =
            AutoCommit::load(bytes).map_err(|e| corrupt(e.to_string()))?.with_actor(ActorId::from(actor));
        let (layout, name) = L::check(&am)?;
        let saved_heads = am.get_heads();
        Ok(Document { am, layout, name, saved_heads })
    }

    /// The document's name in messages: a case number, or a reference data kind.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The document's heads: its version, as hashes of the latest changes.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.am.get_heads()
    }

    /// The whole document, compacted and compressed.
    pub fn save(&mut self) -> Vec<u8> {
        let bytes = self.am.save();
        self.saved_heads = self.am.get_heads();
        bytes
    }

    /// The changes since the last [`Document::save`], [`Document::save_incremental`] or load
    /// (changes that arrived by [`Document::load_incremental`] or [`Document::merge`] included);
    /// empty when there are none. Appending it to the saved bytes gives a loadable document.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        let bytes = self.am.save_after(&self.saved_heads);
        self.saved_heads = self.am.get_heads();
        bytes
    }

    /// Everything that is not a (transitive) dependency of `heads`: what a peer at `heads` lacks,
    /// as one chunk for its [`Document::load_incremental`].
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.am.save_after(heads)
    }

    /// Applies a chunk of [`Document::save_incremental`], [`Document::save_after`] or
    /// [`Document::save`] from elsewhere. Returns how many changes were new. If the result breaks
    /// the layout, the document is put back as it was and the error returned.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<usize, DocError> {
        check_bytes(bytes).map_err(|e| e.about(&self.name))?;
        let before = self.am.get_heads();
        let applied = self.am.load_incremental(bytes).map_err(|e| corrupt(e.to_string()));
        self.arrived(applied.map(drop), &before)
    }

    /// Takes every change of `other` this document lacks, with the same check and the same
    /// putting back as [`Document::load_incremental`].
    pub fn merge(&mut self, other: &mut Document<L>) -> Result<(), DocError> {
        let before = self.am.get_heads();
        let applied = self.am.merge(&mut other.am).map_err(automerge_error);
        self.arrived(applied.map(drop), &before).map(drop)
    }

    /// After foreign changes: check the shape and that the document is still the same one (the
    /// same layout state and name), or put it back at `before`.
    fn arrived(&mut self, applied: Result<(), DocError>, before: &[ChangeHash]) -> Result<usize, DocError> {
        let checked = applied.and_then(|()| L::check_arrived(&self.am)).and_then(|(layout, name)| {
            if layout == self.layout && name == self.name {
                Ok(())
            } else {
                Err(shape(format!("传入的修改替换了文档的标识部分(现为「{name}」),不是同一份文档的修改")))
            }
        });
        match checked {
            Ok(()) => Ok(self.am.get_changes_meta(before).len()),
            Err(e) => {
                if self.am.get_heads() != before {
                    let actor = self.am.get_actor().clone();
                    let restored =
                        self.am.fork_at(before).map_err(|r| automerge_error(r).about(&self.name))?;
                    self.am = restored.with_actor(actor);
                }
                Err(e.about(&self.name))
            }
        }
    }

    /// The whole document as JSON (maps with sorted keys): what the layout snapshot shows, and
    /// what inspection tools print.
    pub fn to_json(&self) -> Result<Value, DocError> {
        read_object(&self.am, &ROOT, ObjType::Map, 0).map_err(|e| e.about(&self.name))
    }

    /// The Automerge document, for the sync protocol and the store. Changes made through it are
    /// not checked against the layout.
    pub fn inner(&mut self) -> &mut AutoCommit {
        &mut self.am
    }

    /// Runs `write` as one commit: committed when it succeeds, rolled back when it fails.
    fn in_one_commit<R>(
        &mut self,
        write: impl FnOnce(&mut AutoCommit) -> Result<R, DocError>,
    ) -> Result<R, DocError> {
        match write(&mut self.am) {
            Ok(r) => {
                self.am.commit();
                Ok(r)
            }
            Err(e) => {
                self.am.rollback();
                Err(e.about(&self.name))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Case documents
// ---------------------------------------------------------------------------------------------

/// The layout of a case document (`doc_type` `"case"`): which header and events objects it
/// holds. They are created with the case and never replaced; a change that replaces one is not a
/// change of this case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLayout {
    header: ObjId,
    events: ObjId,
}

/// A case as an Automerge document: header plus append-only events.
pub type CaseDoc = Document<CaseLayout>;

impl Layout for CaseLayout {
    /// Root, header (hydrated) and the events list: each element a map with a string id.
    fn check(doc: &AutoCommit) -> Result<(CaseLayout, String), DocError> {
        let doc_type = check_root(doc)?;
        if doc_type != CASE_DOC_TYPE {
            return Err(shape(format!("文档类型为 {doc_type},不是办件文档 {CASE_DOC_TYPE}")));
        }
        let header = read_header(doc)?;
        let name = header.number.as_str().to_string();
        event_ids(doc).map_err(|e| e.about(&name))?;
        Ok((CaseLayout::of(doc)?, name))
    }

    /// Everything: a foreign change could have added a malformed event. And no conflict on the
    /// root's keys: they are written once, in the case's first change, so two values for one of
    /// them mean that changes of another document (another case) were mixed in.
    fn check_arrived(doc: &AutoCommit) -> Result<(CaseLayout, String), DocError> {
        let (layout, name) = Self::check(doc)?;
        let conflicts: Vec<String> =
            doc.map_range(&ROOT, ..).filter(|item| item.conflict).map(|item| item.key.into_owned()).collect();
        if !conflicts.is_empty() {
            let keys = conflicts.join("、");
            let detail = format!("根字段 {keys} 出现两个值:传入的修改来自另一份文档");
            return Err(shape(detail).about(&name));
        }
        read_events(doc).map_err(|e| e.about(&name))?;
        Ok((layout, name))
    }
}

impl CaseLayout {
    fn of(doc: &AutoCommit) -> Result<CaseLayout, DocError> {
        Ok(CaseLayout {
            header: object_at(doc, &ROOT, KEY_HEADER, ObjType::Map)?,
            events: object_at(doc, &ROOT, KEY_EVENTS, ObjType::List)?,
        })
    }
}

fn read_header(doc: &AutoCommit) -> Result<CaseHeader, DocError> {
    let header = object_at(doc, &ROOT, KEY_HEADER, ObjType::Map)?;
    from_json(read_object(doc, &header, ObjType::Map, 1)?, "办件头(header)")
}

/// Each element of the events list: its object id, as a map.
fn event_objects(doc: &AutoCommit) -> Result<Vec<ObjId>, DocError> {
    let events = object_at(doc, &ROOT, KEY_EVENTS, ObjType::List)?;
    doc.list_range(&events, ..)
        .map(|item| match item.value {
            ValueRef::Object(ObjType::Map) => Ok(item.id()),
            other => Err(shape(format!("事件列表第 {} 项不是对象:{other:?}", item.index + 1))),
        })
        .collect()
}

/// The stored ids, deduplicated, in document order.
fn event_ids(doc: &AutoCommit) -> Result<Vec<EventId>, DocError> {
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for (index, event) in event_objects(doc)?.iter().enumerate() {
        let id = read_string(doc, event, KEY_EVENT_ID)?
            .ok_or_else(|| shape(format!("事件列表第 {} 项缺少标识 {KEY_EVENT_ID}", index + 1)))?;
        if seen.insert(id.clone()) {
            ids.push(EventId(id));
        }
    }
    Ok(ids)
}

/// The events, deduplicated by id (the first in document order kept), in document order. The
/// stored id must be the event's own [`Event::id`].
fn read_events(doc: &AutoCommit) -> Result<Vec<Event>, DocError> {
    let mut seen = HashSet::new();
    let mut events = Vec::new();
    for (index, event) in event_objects(doc)?.iter().enumerate() {
        let position = index + 1;
        let Value::Object(mut fields) = read_object(doc, event, ObjType::Map, 2)? else {
            return Err(shape(format!("事件列表第 {position} 项不是对象")));
        };
        let Some(Value::String(id)) = fields.remove(KEY_EVENT_ID) else {
            return Err(shape(format!("事件列表第 {position} 项缺少标识 {KEY_EVENT_ID}")));
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let event: Event = from_json(Value::Object(fields), &format!("事件 {id}"))?;
        if event.id().0 != id {
            return Err(shape(format!("事件 {id} 的标识与其时间戳 {} 不符", event.id())));
        }
        events.push(event);
    }
    Ok(events)
}

/// Inserts at the end of `list` the events whose ids are not in `have` (which learns them).
/// Returns how many were inserted.
fn insert_events(
    doc: &mut AutoCommit,
    list: &ObjId,
    have: &mut HashSet<String>,
    events: &[Event],
) -> Result<usize, DocError> {
    let mut end = doc.length(list);
    let mut added = 0;
    for event in events {
        let id = event.id().0;
        if have.contains(&id) {
            continue;
        }
        let Value::Object(mut fields) = to_json(event)? else {
            return Err(shape(format!("事件 {id} 没有序列化为对象")));
        };
        fields.insert(KEY_EVENT_ID.to_string(), Value::String(id.clone()));
        write_value(doc, list, Slot::Insert(end), &Value::Object(fields), 2)?;
        have.insert(id);
        end += 1;
        added += 1;
    }
    Ok(added)
}

impl Document<CaseLayout> {
    /// A new document for a new case: header and its events, in one commit.
    pub fn new(case: &Case, actor: &[u8]) -> Result<CaseDoc, DocError> {
        let name = case.header.number.as_str().to_string();
        let write = || -> Result<AutoCommit, DocError> {
            let mut am = new_root(actor, CASE_DOC_TYPE)?;
            write_value(&mut am, &ROOT, Slot::Key(KEY_HEADER), &to_json(&case.header)?, 1)?;
            let events = am.put_object(&ROOT, KEY_EVENTS, ObjType::List).map_err(automerge_error)?;
            insert_events(&mut am, &events, &mut HashSet::new(), &case.events)?;
            Ok(am)
        };
        let am = write().map_err(|e| e.about(&name))?;
        let layout = CaseLayout::of(&am).map_err(|e| e.about(&name))?;
        Ok(Document::from_new(am, layout, name))
    }

    /// Appends the events whose ids the document does not hold yet, in one commit (none when
    /// every id is there). Returns how many were added.
    pub fn append(&mut self, events: &[Event]) -> Result<usize, DocError> {
        self.in_one_commit(|am| {
            let mut have: HashSet<String> = event_ids(am)?.into_iter().map(|id| id.0).collect();
            let list = object_at(am, &ROOT, KEY_EVENTS, ObjType::List)?;
            insert_events(am, &list, &mut have, events)
        })
    }

    /// The case: header plus events (deduplicated by id, in document order).
    /// The case, its events in their canonical (HLC) order: the document's list order depends on
    /// how concurrent appends merged, and two nodes holding the same heads must show the same case.
    pub fn case(&self) -> Result<Case, DocError> {
        let read = || {
            let mut events = read_events(&self.am)?;
            events.sort();
            events.dedup();
            Ok(Case { header: read_header(&self.am)?, events })
        };
        read().map_err(|e: DocError| e.about(&self.name))
    }

    pub fn header(&self) -> Result<CaseHeader, DocError> {
        read_header(&self.am).map_err(|e| e.about(&self.name))
    }

    /// The ids of the events the document holds, deduplicated, in document order; reads only the
    /// id of each event.
    pub fn event_ids(&self) -> Result<Vec<EventId>, DocError> {
        event_ids(&self.am).map_err(|e| e.about(&self.name))
    }
}

// ---------------------------------------------------------------------------------------------
// Reference data documents
// ---------------------------------------------------------------------------------------------

/// The kinds of shared reference data, each one document (its `doc_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefKind {
    /// The item catalog ([`yikou_schema::catalog::Catalog`]).
    Catalog,
    /// The working-day calendar ([`yikou_schema::calendar::WorkCalendar`]).
    Calendar,
    /// The dishonesty list ([`yikou_schema::tolerance::DishonestyList`]).
    Dishonesty,
    /// The appointment quota split ([`yikou_schema::queue::QuotaPlan`]).
    QuotaPlan,
}

impl RefKind {
    pub const ALL: [RefKind; 4] =
        [RefKind::Catalog, RefKind::Calendar, RefKind::Dishonesty, RefKind::QuotaPlan];

    /// The `doc_type` (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::Catalog => "catalog",
            RefKind::Calendar => "calendar",
            RefKind::Dishonesty => "dishonesty",
            RefKind::QuotaPlan => "quota_plan",
        }
    }

    pub fn parse(doc_type: &str) -> Option<RefKind> {
        RefKind::ALL.into_iter().find(|k| k.as_str() == doc_type)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            RefKind::Catalog => "事项清单",
            RefKind::Calendar => "工作日历",
            RefKind::Dishonesty => "失信名单",
            RefKind::QuotaPlan => "预约名额分配",
        }
    }
}

/// The layout of a reference data document: its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefLayout {
    kind: RefKind,
}

/// Shared reference data as an Automerge document: one value, replaced whole.
pub type RefDoc = Document<RefLayout>;

impl Layout for RefLayout {
    /// Root, a known kind, and a `data` value (its type is known only to [`RefDoc::value`]).
    fn check(doc: &AutoCommit) -> Result<(RefLayout, String), DocError> {
        let doc_type = check_root(doc)?;
        let kind =
            RefKind::parse(&doc_type).ok_or_else(|| shape(format!("文档类型 {doc_type} 不是参考数据")))?;
        let name = kind.name_zh().to_string();
        if doc.get(&ROOT, KEY_DATA).map_err(automerge_error)?.is_none() {
            return Err(shape(format!("缺少字段 {KEY_DATA}")).about(&name));
        }
        Ok((RefLayout { kind }, name))
    }
}

impl Document<RefLayout> {
    /// A new reference data document holding `value`, in one commit.
    pub fn new<T: Serialize + ?Sized>(kind: RefKind, value: &T, actor: &[u8]) -> Result<RefDoc, DocError> {
        let name = kind.name_zh().to_string();
        let write = || -> Result<AutoCommit, DocError> {
            let mut am = new_root(actor, kind.as_str())?;
            write_value(&mut am, &ROOT, Slot::Key(KEY_DATA), &to_json(value)?, 1)?;
            Ok(am)
        };
        let am = write().map_err(|e| e.about(&name))?;
        Ok(Document::from_new(am, RefLayout { kind }, name))
    }

    pub fn kind(&self) -> RefKind {
        self.layout.kind
    }

    /// The data, as `T`.
    pub fn value<T: DeserializeOwned>(&self) -> Result<T, DocError> {
        let read = || from_json(self.data_json()?, self.layout.kind.name_zh());
        read().map_err(|e: DocError| e.about(&self.name))
    }

    /// Replaces the data with `value`, whole, in one commit. Returns false (and writes nothing)
    /// when the document already holds that value.
    pub fn replace<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<bool, DocError> {
        let new = to_json(value).map_err(|e| e.about(&self.name))?;
        if self.data_json().ok().as_ref() == Some(&new) {
            return Ok(false);
        }
        self.in_one_commit(|am| write_value(am, &ROOT, Slot::Key(KEY_DATA), &new, 1)).map(|()| true)
    }

    fn data_json(&self) -> Result<Value, DocError> {
        read_key(&self.am, &ROOT, KEY_DATA, 0)?.ok_or_else(|| shape(format!("缺少字段 {KEY_DATA}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: &Value) -> Value {
        let mut am = AutoCommit::new();
        write_value(&mut am, &ROOT, Slot::Key("v"), value, 1).expect("writes");
        am.commit();
        let bytes = am.save();
        let loaded = AutoCommit::load(&bytes).expect("loads");
        read_key(&loaded, &ROOT, "v", 0).expect("reads").expect("present")
    }

    #[test]
    fn bridge_round_trips_every_json_kind_exactly() {
        let value = serde_json::json!({
            "null": null, "yes": true, "no": false,
            "u64_max": u64::MAX, "i64_min": i64::MIN, "zero": 0, "minus_one": -1, "half": 0.5,
            "text": "张三 \u{0} \n", "empty_text": "", "empty_list": [], "empty_map": {},
            "nested": [[1, [2, {"a": [null]}]], {"": "empty key"}],
        });
        assert_eq!(round_trip(&value), value);
    }

    #[test]
    fn integers_keep_their_automerge_type() {
        let mut am = AutoCommit::new();
        write_value(&mut am, &ROOT, Slot::Key("u"), &Value::from(u64::MAX), 1).expect("writes");
        write_value(&mut am, &ROOT, Slot::Key("i"), &Value::from(-5i64), 1).expect("writes");
        write_value(&mut am, &ROOT, Slot::Key("n"), &Value::from(5u64), 1).expect("writes");
        write_value(&mut am, &ROOT, Slot::Key("s"), &Value::from("文本"), 1).expect("writes");
        let get = |key: &str| match am.get(&ROOT, key).expect("get") {
            Some((automerge::Value::Scalar(s), _)) => s.into_owned(),
            other => panic!("{key}: not a scalar: {other:?}"),
        };
        assert_eq!(get("u"), ScalarValue::Uint(u64::MAX));
        assert_eq!(get("i"), ScalarValue::Int(-5));
        assert_eq!(get("n"), ScalarValue::Int(5));
        // A plain scalar string, never a Text object.
        assert_eq!(get("s"), ScalarValue::Str("文本".into()));
    }

    fn nested(depth: usize) -> Value {
        (0..depth).fold(Value::from(1), |inner, _| Value::Array(vec![inner]))
    }

    #[test]
    fn nesting_is_bounded_both_ways() {
        // DOC_DEPTH_MAX containers are fine (the outermost is at depth 1).
        assert_eq!(round_trip(&nested(DOC_DEPTH_MAX)), nested(DOC_DEPTH_MAX));
        let mut am = AutoCommit::new();
        let err =
            write_value(&mut am, &ROOT, Slot::Key("v"), &nested(DOC_DEPTH_MAX + 1), 1).expect_err("too deep");
        assert_eq!(err.code(), "doc.shape");

        // A hostile document nested far deeper than the bound: reading stops with an error.
        let mut am = AutoCommit::new();
        let mut obj = am.put_object(&ROOT, "v", ObjType::List).expect("list");
        for _ in 0..10_000 {
            obj = am.insert_object(&obj, 0, ObjType::List).expect("list");
        }
        am.commit();
        let err = read_key(&am, &ROOT, "v", 0).expect_err("too deep");
        assert_eq!(err.code(), "doc.shape");
        assert!(err.to_string().contains("嵌套"), "{err}");
    }

    #[test]
    fn text_objects_read_as_strings() {
        let mut am = AutoCommit::new();
        let text = am.put_object(&ROOT, "t", ObjType::Text).expect("text");
        am.splice_text(&text, 0, 0, "张三").expect("splice");
        assert_eq!(read_key(&am, &ROOT, "t", 0).expect("reads"), Some(Value::from("张三")));
        assert_eq!(read_string(&am, &ROOT, "t").expect("reads").as_deref(), Some("张三"));
    }

    #[test]
    fn values_outside_the_layout_are_refused_on_read() {
        let mut am = AutoCommit::new();
        am.put(&ROOT, "c", ScalarValue::counter(1)).expect("put");
        am.put(&ROOT, "b", ScalarValue::Bytes(vec![1])).expect("put");
        am.put(&ROOT, "nan", ScalarValue::F64(f64::NAN)).expect("put");
        for key in ["c", "b", "nan"] {
            let err = read_key(&am, &ROOT, key, 0).expect_err(key);
            assert_eq!(err.code(), "doc.shape", "{key}");
        }
    }

    #[test]
    fn chunk_framing_catches_truncation_and_garbage() {
        let mut am = AutoCommit::new();
        am.put(&ROOT, "x", 1u64).expect("put");
        am.commit();
        let bytes = am.save();
        assert!(check_bytes(&bytes).is_ok());
        let two = [bytes.clone(), am.save()].concat();
        assert!(check_bytes(&two).is_ok());
        assert!(check_bytes(&[]).is_ok(), "an empty incremental chunk is valid");
        for cut in 1..bytes.len() {
            assert_eq!(check_bytes(&bytes[..cut]).map_err(|e| e.code()), Err("doc.corrupt"), "cut {cut}");
        }
        assert_eq!(check_bytes(b"not automerge").map_err(|e| e.code()), Err("doc.corrupt"));
    }

    #[test]
    fn uleb128_reads_and_bounds() {
        assert_eq!(uleb128(&[0x00]), Some((0, 1)));
        assert_eq!(uleb128(&[0xe5, 0x8e, 0x26]), Some((624_485, 3)));
        assert_eq!(
            uleb128(&[0xff; 9].iter().copied().chain([0x01]).collect::<Vec<_>>()),
            Some((u64::MAX, 10))
        );
        assert_eq!(uleb128(&[0xff; 9].iter().copied().chain([0x02]).collect::<Vec<_>>()), None);
        assert_eq!(uleb128(&[0x80, 0x80]), None);
        assert_eq!(uleb128(&[]), None);
    }

    #[test]
    fn too_large_inputs_are_refused_before_parsing() {
        let bytes = vec![0u8; DOC_BYTES_MAX + 1];
        assert_eq!(check_bytes(&bytes).map_err(|e| e.code()), Err("doc.too_large"));
        let mut at_bound = vec![0u8; DOC_BYTES_MAX];
        at_bound[..CHUNK_MAGIC.len()].copy_from_slice(&CHUNK_MAGIC);
        // At the bound the size passes and the framing decides.
        assert_eq!(check_bytes(&at_bound).map_err(|e| e.code()), Err("doc.corrupt"));
    }

    #[test]
    fn ref_kind_names_are_the_serde_names() {
        for kind in RefKind::ALL {
            assert_eq!(serde_json::to_value(kind).expect("serializes"), Value::from(kind.as_str()));
            assert_eq!(RefKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(RefKind::parse("case"), None);
    }

    #[test]
    fn errors_name_the_document_and_are_send_sync() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<DocError>();
        let err = shape("缺少字段 header").about("410184001260302000011");
        assert_eq!(err.doc(), Some("410184001260302000011"));
        assert_eq!(
            err.to_string(),
            "文档「410184001260302000011」的结构不符合第 1 版文档格式:缺少字段 header"
        );
        // The first name given stays.
        assert_eq!(err.about("other").doc(), Some("410184001260302000011"));
    }
}
