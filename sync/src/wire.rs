//! The wire format: messages, their bounds, and frames.
//!
//! A frame is `[payload length: u32 big-endian][flags: u8][payload]`. The payload is the
//! message in postcard encoding, deflated when `flags & FLAG_DEFLATE` (the sender compresses
//! payloads of `COMPRESS_BYTES_MIN` or more: batches of similar Automerge changes shrink well).
//! Every collection in a message has a named bound, checked on decode, so a peer cannot make a
//! node allocate without limit.
//!
//! **API Boundary:** this format is versioned by [`crate::PROTOCOL_VERSION`]; the encoding of
//! every message is snapshot-tested (`tests/wire.rs`). New message kinds are added at the end of
//! [`Message`] with a version bump; nothing is renamed or reordered without a migration.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

/// The largest frame payload accepted, before and after decompression.
pub const MESSAGE_BYTES_MAX: usize = 32 * 1024 * 1024;
/// Payloads from this size up are deflated.
pub const COMPRESS_BYTES_MIN: usize = 512;
/// Frame header: length (4 bytes) and flags (1 byte).
pub const FRAME_HEADER_BYTES: usize = 5;
/// The payload is deflated.
pub const FLAG_DEFLATE: u8 = 1;

/// Characters of a node name or document id.
pub const NAME_CHARS_MAX: usize = 64;
/// Heads of one document in one message.
pub const HEADS_MAX: usize = 64;
/// Documents offered in one batch.
pub const OFFER_DOCS_MAX: usize = 512;
/// Ranges in one reconciliation message.
pub const RECON_RANGES_MAX: usize = 1024;
/// Characters of a refusal's code or reason.
pub const REASON_CHARS_MAX: usize = 512;

/// An Automerge change hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Hash(pub [u8; 32]);

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A position in a node's change feed, valid only within that feed's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub epoch: [u8; 16],
    pub seq: u64,
}

/// Every message of the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// First message of each side.
    Hello(Hello),
    /// The sender closes the session, saying why.
    Refuse(Refusal),
    /// "Offer me your feed after `from`" (when the hello's `resume` could not be used).
    Subscribe { from: u64 },
    /// Documents of the sender's feed (or found by reconciliation) with their heads.
    Offer(Offer),
    /// The documents of an offer the receiver lacks something of, with its heads.
    Want(Want),
    /// The changes for a `Want`, possibly in several parts.
    Data(Data),
    /// The receiver durably applied batch `batch`.
    Ack { batch: u64 },
    /// Set reconciliation: the querier's fingerprints of ranges of its set.
    ReconQuery(ReconQuery),
    /// Set reconciliation: the answerer's fingerprints of the sub-ranges it split mismatches into
    /// (documents in small mismatched ranges were offered before this reply).
    ReconReply(ReconReply),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub version_min: u16,
    pub version_max: u16,
    pub node: String,
    /// The epoch of the sender's feed; changes when its store is restored or reinstalled.
    pub epoch: [u8; 16],
    /// The sender's newest feed position.
    pub feed_seq: u64,
    /// Documents the sender holds.
    pub docs: u64,
    /// Where the sender stands in the receiver's feed (its checkpoint). If it names the
    /// receiver's current epoch, the receiver starts offering from there at once: no `Subscribe`.
    pub resume: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Stable code (`version_newer`, `identity_mismatch`, `protocol`, …).
    pub code: String,
    /// For the operator (Chinese).
    pub reason: String,
}

/// A document with its heads and the scope tag its holder gave it (for the policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocHeads {
    pub doc: String,
    pub heads: Vec<Hash>,
    pub scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub batch: u64,
    /// For feed offers: the feed position this batch completes (entries the receiver may not
    /// see are skipped but counted). `None` for documents found by reconciliation.
    pub upto: Option<u64>,
    /// The sender's feed head when it read this batch.
    pub head: u64,
    pub docs: Vec<DocHeads>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WantDoc {
    /// Index into the offer's `docs`.
    pub idx: u32,
    /// The receiver's heads of that document (empty: it holds none of it).
    pub have: Vec<Hash>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Want {
    pub batch: u64,
    pub docs: Vec<WantDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocData {
    pub idx: u32,
    /// A whole saved document rather than changes after the receiver's heads.
    pub whole: bool,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Data {
    pub batch: u64,
    /// The last part of this batch's data.
    pub last: bool,
    pub docs: Vec<DocData>,
}

/// A range `[lo, hi)` of document ids (`hi: None` is the end) with its count and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeFp {
    pub lo: String,
    pub hi: Option<String>,
    pub count: u64,
    pub fp: [u8; 16],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconQuery {
    pub id: u64,
    pub ranges: Vec<RangeFp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconReply {
    pub id: u64,
    pub ranges: Vec<RangeFp>,
}

/// Why bytes from a peer are not a message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("frame of {0} bytes exceeds the limit of {MESSAGE_BYTES_MAX}")]
    TooLarge(usize),
    #[error("unknown frame flags {0:#04x}")]
    Flags(u8),
    #[error("undecodable message: {0}")]
    Decode(String),
    #[error("message exceeds a bound: {0}")]
    Bound(&'static str),
}

impl WireError {
    pub fn code(&self) -> &'static str {
        match self {
            WireError::TooLarge(_) => "frame_too_large",
            WireError::Flags(_) => "frame_flags",
            WireError::Decode(_) => "undecodable",
            WireError::Bound(_) => "bound",
        }
    }
}

fn check_name(s: &str, what: &'static str) -> Result<(), WireError> {
    if s.len() > NAME_CHARS_MAX { Err(WireError::Bound(what)) } else { Ok(()) }
}

fn check_doc(d: &DocHeads) -> Result<(), WireError> {
    check_name(&d.doc, "document id")?;
    if let Some(s) = &d.scope {
        check_name(s, "scope")?;
    }
    if d.heads.len() > HEADS_MAX {
        return Err(WireError::Bound("heads"));
    }
    Ok(())
}

fn check_ranges(r: &[RangeFp]) -> Result<(), WireError> {
    if r.len() > RECON_RANGES_MAX {
        return Err(WireError::Bound("ranges"));
    }
    for range in r {
        check_name(&range.lo, "range bound")?;
        if let Some(h) = &range.hi {
            check_name(h, "range bound")?;
        }
    }
    Ok(())
}

impl Message {
    /// Checks every bound of the message (done on decode, and on encode in debug builds).
    pub fn check(&self) -> Result<(), WireError> {
        match self {
            Message::Hello(h) => check_name(&h.node, "node name"),
            Message::Refuse(r) => {
                if r.code.len() > REASON_CHARS_MAX || r.reason.len() > REASON_CHARS_MAX {
                    Err(WireError::Bound("refusal"))
                } else {
                    Ok(())
                }
            }
            Message::Subscribe { .. } | Message::Ack { .. } => Ok(()),
            Message::Offer(o) => {
                if o.docs.len() > OFFER_DOCS_MAX {
                    return Err(WireError::Bound("offer documents"));
                }
                o.docs.iter().try_for_each(check_doc)
            }
            Message::Want(w) => {
                if w.docs.len() > OFFER_DOCS_MAX {
                    return Err(WireError::Bound("wanted documents"));
                }
                if w.docs.iter().any(|d| d.have.len() > HEADS_MAX) {
                    return Err(WireError::Bound("heads"));
                }
                Ok(())
            }
            Message::Data(d) => {
                if d.docs.len() > OFFER_DOCS_MAX {
                    return Err(WireError::Bound("data documents"));
                }
                Ok(())
            }
            Message::ReconQuery(q) => check_ranges(&q.ranges),
            Message::ReconReply(r) => check_ranges(&r.ranges),
        }
    }

    /// Short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Hello(_) => "hello",
            Message::Refuse(_) => "refuse",
            Message::Subscribe { .. } => "subscribe",
            Message::Offer(_) => "offer",
            Message::Want(_) => "want",
            Message::Data(_) => "data",
            Message::Ack { .. } => "ack",
            Message::ReconQuery(_) => "recon_query",
            Message::ReconReply(_) => "recon_reply",
        }
    }
}

/// Encodes a message as one frame (header included).
pub fn encode(msg: &Message) -> Result<Vec<u8>, WireError> {
    debug_assert!(msg.check().is_ok(), "encoding a message that breaks a bound");
    let payload = postcard::to_stdvec(msg).map_err(|e| WireError::Decode(e.to_string()))?;
    let (flags, body) = if payload.len() >= COMPRESS_BYTES_MIN {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&payload).map_err(|e| WireError::Decode(e.to_string()))?;
        let packed = z.finish().map_err(|e| WireError::Decode(e.to_string()))?;
        if packed.len() < payload.len() { (FLAG_DEFLATE, packed) } else { (0, payload) }
    } else {
        (0, payload)
    };
    if body.len() > MESSAGE_BYTES_MAX {
        return Err(WireError::TooLarge(body.len()));
    }
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.push(flags);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads a frame header: the payload length and flags. Refuses oversized frames before any
/// payload is read.
pub fn decode_header(header: [u8; FRAME_HEADER_BYTES]) -> Result<(usize, u8), WireError> {
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > MESSAGE_BYTES_MAX {
        return Err(WireError::TooLarge(len));
    }
    if header[4] & !FLAG_DEFLATE != 0 {
        return Err(WireError::Flags(header[4]));
    }
    Ok((len, header[4]))
}

/// Decodes a frame's payload.
pub fn decode_payload(flags: u8, payload: &[u8]) -> Result<Message, WireError> {
    let inflated;
    let bytes = if flags & FLAG_DEFLATE != 0 {
        let mut out = Vec::new();
        let mut z = flate2::read::DeflateDecoder::new(payload).take(MESSAGE_BYTES_MAX as u64 + 1);
        z.read_to_end(&mut out).map_err(|e| WireError::Decode(e.to_string()))?;
        if out.len() > MESSAGE_BYTES_MAX {
            return Err(WireError::TooLarge(out.len()));
        }
        inflated = out;
        &inflated[..]
    } else {
        payload
    };
    let msg: Message = postcard::from_bytes(bytes).map_err(|e| WireError::Decode(e.to_string()))?;
    msg.check()?;
    Ok(msg)
}

/// Splits a byte stream into messages (for simulations, fuzzing and any byte-stream transport).
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<Message>, WireError> {
        if self.buf.len() < FRAME_HEADER_BYTES {
            return Ok(None);
        }
        let mut header = [0u8; FRAME_HEADER_BYTES];
        header.copy_from_slice(&self.buf[..FRAME_HEADER_BYTES]);
        let (len, flags) = decode_header(header)?;
        if self.buf.len() < FRAME_HEADER_BYTES + len {
            return Ok(None);
        }
        let msg = decode_payload(flags, &self.buf[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + len]);
        self.buf.drain(..FRAME_HEADER_BYTES + len);
        msg.map(Some)
    }
}
