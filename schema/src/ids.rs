//! Identifiers: who applies, who signs for them, and which case a number names.
//!
//! Layout, from the ground up:
//! - Check-character arithmetic: ISO 7064 MOD 11-2 (citizen IDs, GB 11643, and our case numbers),
//!   MOD 31 (unified social credit codes, GB 32100) and GB 11714 (the organisation code inside a
//!   credit code, a warning only).
//! - [`CitizenId`] (18 characters), [`LegacyCitizenId15`] (15 digits, always flagged for review),
//!   [`CreditCode`] (18 characters).
//! - [`ApplicantId`]: one of the three, chosen by shape; [`Applicant`]: an id with a name and
//!   contact details.
//! - [`Agent`] and [`Authorisation`]: who may sign a commitment for an applicant (rule T3.2).
//! - [`NodeCode`], [`CaseNumber`], [`CaseNumberAllocator`]: case numbers (办件编号) that carry the
//!   issuing node, so two nodes can never issue the same number, even while offline;
//!   [`ProvincialNumber`]: the number the provincial platform assigns later, kept apart.
//! - [`IdError`], [`AgentError`]: every refusal, with a Chinese message a window clerk can act on
//!   and a stable code for programs.
//!
//! Every parser trims surrounding whitespace, folds full-width ASCII (as typed with a Chinese input
//! method) to half-width and upper-cases letters; the stored form is canonical ASCII. No parser
//! panics on any input. The ID types serialize as plain strings, and deserializing goes through the
//! parser, so an invalid stored value is refused rather than carried along.
//!
//! Invariant: nothing here reads a clock. "Today" is always passed in.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use thiserror::Error;

// ---------------------------------------------------------------------------------------------
// Limits (units in the names: `_CHARS` counts Unicode scalar values, not bytes)
// ---------------------------------------------------------------------------------------------

/// Length of a citizen ID number (GB 11643-1999).
pub const CITIZEN_ID_CHARS: usize = 18;
/// Length of a first-generation (legacy) citizen ID number.
pub const LEGACY_CITIZEN_ID_CHARS: usize = 15;
/// Length of a unified social credit code (GB 32100-2015).
pub const CREDIT_CODE_CHARS: usize = 18;
/// Length of a node code: region (6 digits) + node number (3 digits).
pub const NODE_CODE_CHARS: usize = 9;
/// Length of a case number: region 6 + node 3 + yyMMdd 6 + serial 5 + check 1.
pub const CASE_NUMBER_CHARS: usize = 21;
/// Case numbers one node may issue on one day (the serial has 5 digits; 00000 is never issued).
pub const CASE_SERIALS_PER_DAY_MAX: u32 = 99_999;
/// First year a case number can carry (the number holds a two-digit year, read as 20yy).
pub const CASE_NUMBER_YEAR_MIN: i32 = 2000;
/// Last year a case number can carry.
pub const CASE_NUMBER_YEAR_MAX: i32 = 2099;
/// Earliest birth year accepted in a citizen ID (real numbers with 1880 birth dates exist).
pub const CITIZEN_BIRTH_YEAR_MIN: i32 = 1800;
/// Longest applicant name (person or organisation).
pub const APPLICANT_NAME_CHARS_MAX: usize = 100;
/// Longest contact phone entry.
pub const PHONE_CHARS_MAX: usize = 32;
/// Longest address.
pub const ADDRESS_CHARS_MAX: usize = 200;
/// Longest number assigned by the provincial platform.
pub const PROVINCIAL_NUMBER_CHARS_MAX: usize = 64;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Which kind of value an [`IdError`] is about; its `Display` is the Chinese name a clerk knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    CitizenId,
    LegacyCitizenId,
    CreditCode,
    /// An applicant's number whose kind was not yet known.
    ApplicantId,
    NodeCode,
    CaseNumber,
    ProvincialNumber,
    ApplicantName,
    Phone,
    Address,
}

impl IdKind {
    pub fn name_zh(self) -> &'static str {
        match self {
            IdKind::CitizenId => "身份证号码",
            IdKind::LegacyCitizenId => "15位身份证号码",
            IdKind::CreditCode => "统一社会信用代码",
            IdKind::ApplicantId => "证件号码",
            IdKind::NodeCode => "节点编码",
            IdKind::CaseNumber => "办件编号",
            IdKind::ProvincialNumber => "省级平台办件编号",
            IdKind::ApplicantName => "申请人姓名或名称",
            IdKind::Phone => "联系电话",
            IdKind::Address => "地址",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_zh())
    }
}

/// A refused identifier, name or case number. Messages are for the window clerk; [`IdError::code`]
/// is for programs and stays stable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("{kind}不能为空,请填写")]
    Empty { kind: IdKind },
    #[error("{kind}应为{expected}位,实际为{found}位")]
    WrongLength { kind: IdKind, expected: usize, found: usize },
    #[error("证件号码应为18位(身份证号码或统一社会信用代码)或15位(旧身份证号码),实际为{found}位")]
    ApplicantIdWrongLength { found: usize },
    #[error("{kind}最多{max}个字,实际为{found}个,请精简后重新填写")]
    TooLong { kind: IdKind, max: usize, found: usize },
    /// `position` counts from 1, as the clerk reads the number.
    #[error("{kind}第{position}位“{}”不是有效字符(应为{allowed}),请核对后重新输入", shown(.found))]
    BadCharacter { kind: IdKind, position: usize, found: char, allowed: &'static str },
    #[error("{kind}前6位地区码“{region}”无效(首位应为1至9),请核对号码")]
    BadRegion { kind: IdKind, region: String },
    #[error(
        "{kind}中的出生日期“{digits}”无效(日期不存在或早于{min_year}年),请核对{}",
        birth_date_positions(.kind),
        min_year = CITIZEN_BIRTH_YEAR_MIN
    )]
    BadBirthDate { kind: IdKind, digits: String },
    #[error("办件编号中的日期“{digits}”无效(应为年月日yyMMdd),请核对第10至15位")]
    BadDate { digits: String },
    #[error(
        "办件编号中的流水号“{serial:05}”无效(应为00001至{max}),请核对第16至20位",
        max = CASE_SERIALS_PER_DAY_MAX
    )]
    BadSerial { serial: u32 },
    #[error("{kind}校验位错误:应为{expected},实际为{found},请核对号码(错字可能在任何一位,请勿只改校验位)")]
    BadCheck { kind: IdKind, expected: char, found: char },
    #[error(
        "号码既不是有效的身份证号码,也不是有效的统一社会信用代码。按身份证号码核对:{citizen};按统一社会信用代码核对:{credit}"
    )]
    NotRecognised { citizen: Box<IdError>, credit: Box<IdError> },
    #[error(
        "日期{}超出办件编号可表示的范围({min}年至{max}年),请核对本机日期",
        cn_date(.date),
        min = CASE_NUMBER_YEAR_MIN,
        max = CASE_NUMBER_YEAR_MAX
    )]
    DateOutOfRange { date: NaiveDate },
    #[error(
        "节点{node}在{}的办件编号已用完(每日最多{max}个),当日无法再编号,请联系管理员",
        cn_date(.day),
        max = CASE_SERIALS_PER_DAY_MAX
    )]
    SerialsExhausted { node: NodeCode, day: NaiveDate },
    #[error(
        "本机日期{}早于上次编号的日期{},电脑时钟可能被调回;为防止办件编号重复,已暂停编号。请核对本机时间;如上次编号的日期本身有误,请联系管理员",
        cn_date(.today),
        cn_date(.last_day)
    )]
    ClockWentBackwards { last_day: NaiveDate, today: NaiveDate },
}

impl IdError {
    /// A stable, machine-readable code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            IdError::Empty { .. } => "id.empty",
            IdError::WrongLength { .. } | IdError::ApplicantIdWrongLength { .. } => "id.wrong_length",
            IdError::TooLong { .. } => "id.too_long",
            IdError::BadCharacter { .. } => "id.bad_character",
            IdError::BadRegion { .. } => "id.bad_region",
            IdError::BadBirthDate { .. } => "id.bad_birth_date",
            IdError::BadDate { .. } => "id.bad_date",
            IdError::BadSerial { .. } => "id.bad_serial",
            IdError::BadCheck { .. } => "id.bad_check",
            IdError::NotRecognised { .. } => "id.not_recognised",
            IdError::DateOutOfRange { .. } => "id.date_out_of_range",
            IdError::SerialsExhausted { .. } => "id.serials_exhausted",
            IdError::ClockWentBackwards { .. } => "id.clock_went_backwards",
        }
    }
}

/// A control or blank character is shown by its code point, anything else as itself.
fn shown(c: &char) -> String {
    if c.is_control() || c.is_whitespace() { format!("U+{:04X}", u32::from(*c)) } else { c.to_string() }
}

fn cn_date(d: &NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

fn birth_date_positions(kind: &IdKind) -> &'static str {
    match kind {
        IdKind::LegacyCitizenId => "第7至12位",
        _ => "第7至14位",
    }
}

const ALLOWED_DIGIT: &str = "数字0至9";
const ALLOWED_DIGIT_OR_X: &str = "数字0至9或X";
const ALLOWED_CREDIT: &str = "数字或大写字母,不含I、O、S、V、Z";
const ALLOWED_PRINTABLE: &str = "可打印字符";

// ---------------------------------------------------------------------------------------------
// Input preparation and check characters
// ---------------------------------------------------------------------------------------------

/// Full-width ASCII (U+FF01..U+FF5E) to half-width, then ASCII upper case.
fn fold_char(c: char) -> char {
    let half = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    half.to_ascii_uppercase()
}

/// Trims, refuses empty input and the wrong length, folds the characters.
fn prepare(kind: IdKind, input: &str, expected: usize) -> Result<Vec<char>, IdError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(IdError::Empty { kind });
    }
    let found = trimmed.chars().count();
    if found != expected {
        return Err(IdError::WrongLength { kind, expected, found });
    }
    Ok(trimmed.chars().map(fold_char).collect())
}

/// The digit values of `chars`; a non-digit is a [`IdError::BadCharacter`] at its position.
fn digit_values(kind: IdKind, chars: &[char]) -> Result<Vec<u32>, IdError> {
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            c.to_digit(10).ok_or(IdError::BadCharacter {
                kind,
                position: i + 1,
                found: c,
                allowed: ALLOWED_DIGIT,
            })
        })
        .collect()
}

/// The check character in the last position must be a digit or X.
fn check_char_shape(kind: IdKind, c: char, position: usize) -> Result<(), IdError> {
    if c.is_ascii_digit() || c == 'X' {
        Ok(())
    } else {
        Err(IdError::BadCharacter { kind, position, found: c, allowed: ALLOWED_DIGIT_OR_X })
    }
}

/// Decimal number of a few digits (at most 9, so it fits a u32).
fn number(digits: &[u32]) -> u32 {
    digits.iter().fold(0, |acc, d| acc * 10 + d)
}

/// A region code (GB/T 2260 shape): six digits, the first 1-9. No region table is consulted.
fn check_region(kind: IdKind, region: &[u32], text: &[char]) -> Result<(), IdError> {
    if region.first().is_some_and(|&d| d != 0) {
        Ok(())
    } else {
        Err(IdError::BadRegion { kind, region: text.iter().take(6).collect() })
    }
}

/// `"10X98765432"[R]`: the ISO 7064 MOD 11-2 check character for remainder R.
const MOD11_2_CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// GB 11643-1999 weights for positions 1..17 of a citizen ID, as printed in the standard.
const GB11643_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// ISO 7064 MOD 11-2 weight of the digit at `index` (0-based from the left) in a body of
/// `body_len` digits followed by one check character: 2^(body_len - index) mod 11.
fn mod11_2_weight(body_len: usize, index: usize) -> u32 {
    // 2^10 ≡ 1 (mod 11), so the exponent can be reduced mod 10 and the loop stays short.
    let exponent = body_len.saturating_sub(index) % 10;
    (0..exponent).fold(1, |w, _| (w * 2) % 11)
}

/// ISO 7064 MOD 11-2 check character over any number of digit values.
fn mod11_2_check(body: &[u32]) -> char {
    let n = body.len();
    let remainder = body.iter().enumerate().fold(0u32, |acc, (i, d)| (acc + d * mod11_2_weight(n, i)) % 11);
    // remainder < 11 by the `% 11` above.
    MOD11_2_CHECK_CHARS[remainder as usize]
}

/// GB 11643 check character of a citizen ID body, with the standard's weight table.
fn gb11643_check(body: &[u32; 17]) -> char {
    let sum: u32 = body.iter().zip(GB11643_WEIGHTS).map(|(d, w)| d * w).sum();
    // sum % 11 < 11.
    MOD11_2_CHECK_CHARS[(sum % 11) as usize]
}

/// GB 32100 alphabet: 0-9 = 0..9, then the letters below = 10..30 (never I O S V Z).
const CREDIT_ALPHABET: [char; 31] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L',
    'M', 'N', 'P', 'Q', 'R', 'T', 'U', 'W', 'X', 'Y',
];

/// GB 32100 weights for positions 1..17.
const GB32100_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

fn credit_value(c: char) -> Option<u32> {
    CREDIT_ALPHABET.iter().position(|&a| a == c).and_then(|p| u32::try_from(p).ok())
}

/// GB 32100 check character: 31 − (Σ mod 31), where 31 becomes 0.
fn gb32100_check(body: &[u32; 17]) -> char {
    let sum: u32 = body.iter().zip(GB32100_WEIGHTS).map(|(v, w)| v * w).sum();
    let value = (31 - sum % 31) % 31;
    // value < 31 by the final `% 31`.
    CREDIT_ALPHABET[value as usize]
}

/// GB 11714 weights for the 8 body characters of an organisation code.
const GB11714_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// GB 11714 character value: digits 0..9, letters 10 + (letter − 'A').
fn gb11714_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        'A'..='Z' => Some(10 + (u32::from(c) - u32::from('A'))),
        _ => None,
    }
}

/// GB 11714 check character: C = 11 − (Σ mod 11); 10 → X, 11 → 0.
fn gb11714_check(body: &[u32; 8]) -> char {
    let sum: u32 = body.iter().zip(GB11714_WEIGHTS).map(|(v, w)| v * w).sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        c => char::from_digit(c, 10).unwrap_or('?'),
    }
}

/// The birth date in a citizen ID: `yyyymmdd` must exist and not be before the minimum year.
fn birth_date(kind: IdKind, year: u32, month: u32, day: u32, text: &[char]) -> Result<NaiveDate, IdError> {
    i32::try_from(year)
        .ok()
        .filter(|&y| y >= CITIZEN_BIRTH_YEAR_MIN)
        .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
        .ok_or_else(|| IdError::BadBirthDate { kind, digits: text.iter().collect() })
}

macro_rules! string_id {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $t {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::parse(&s)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.as_str().to_owned()
            }
        }
    };
}

/// `impl JsonSchema` for an identifier serialized as its canonical string (see `string_id!`).
/// Serialized, the string always matches `$pattern`; deserializing goes through the parser, which
/// first trims, folds full-width characters and upper-cases, so the request schema (the
/// deserialize contract) states the shape in its description and leaves the check to the parser.
macro_rules! string_id_schema {
    ($t:ident, $pattern:literal, $description:literal) => {
        impl JsonSchema for $t {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($t))
            }

            fn schema_id() -> Cow<'static, str> {
                Cow::Borrowed(concat!(module_path!(), "::", stringify!($t)))
            }

            fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                if generator.contract().is_serialize() {
                    json_schema!({ "type": "string", "pattern": $pattern, "description": $description })
                } else {
                    json_schema!({
                        "type": "string",
                        "minLength": 1,
                        "description": concat!(
                            $description,
                            " Canonical form: `",
                            $pattern,
                            "`; surrounding blanks are trimmed, full-width characters folded and \
                             letters upper-cased before the check."
                        ),
                    })
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Citizen ID numbers
// ---------------------------------------------------------------------------------------------

/// A citizen ID number (公民身份号码, GB 11643-1999): region (6) + birth date YYYYMMDD (8) +
/// sequence (3, odd = male) + check (1, ISO 7064 MOD 11-2). Stored with an upper-case `X`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CitizenId {
    text: String,
    birth_date: NaiveDate,
}

impl CitizenId {
    pub fn parse(input: &str) -> Result<CitizenId, IdError> {
        let kind = IdKind::CitizenId;
        let chars = prepare(kind, input, CITIZEN_ID_CHARS)?;
        let (&check, body_chars) = chars.split_last().ok_or(IdError::Empty { kind })?;
        let body: [u32; 17] = digit_values(kind, body_chars)?
            .try_into()
            .map_err(|_| IdError::WrongLength { kind, expected: CITIZEN_ID_CHARS, found: chars.len() })?;
        check_char_shape(kind, check, CITIZEN_ID_CHARS)?;
        check_region(kind, &body[0..6], &chars)?;
        let birth_date = birth_date(
            kind,
            number(&body[6..10]),
            number(&body[10..12]),
            number(&body[12..14]),
            &chars[6..14],
        )?;
        let expected = gb11643_check(&body);
        if check != expected {
            return Err(IdError::BadCheck { kind, expected, found: check });
        }
        Ok(CitizenId { text: chars.iter().collect(), birth_date })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The sequence (positions 15–17) is odd for men, even for women.
    pub fn is_male(&self) -> bool {
        self.text.as_bytes().get(16).is_some_and(|b| b % 2 == 1)
    }

    /// The 6-digit region code (GB/T 2260) of the place of first registration.
    pub fn region_code(&self) -> &str {
        self.text.get(0..6).unwrap_or_default()
    }
}

string_id!(CitizenId);
string_id_schema!(
    CitizenId,
    "^[1-9][0-9]{16}[0-9X]$",
    "A citizen ID number (公民身份号码, GB 11643-1999), 18 characters: region (6), birth date \
     YYYYMMDD (8), sequence (3), check (ISO 7064 MOD 11-2, 0-9 or X)."
);

/// A first-generation 15-digit citizen ID: region (6) + birth date 19YYMMDD as YYMMDD (6) +
/// sequence (3), no check digit. Accepted only as a flagged value ([`ApplicantId::needs_review`]):
/// without a check digit a typo cannot be detected, and these cards expired in 2013.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LegacyCitizenId15 {
    text: String,
    birth_date: NaiveDate,
}

impl LegacyCitizenId15 {
    pub fn parse(input: &str) -> Result<LegacyCitizenId15, IdError> {
        let kind = IdKind::LegacyCitizenId;
        let chars = prepare(kind, input, LEGACY_CITIZEN_ID_CHARS)?;
        let digits: [u32; 15] = digit_values(kind, &chars)?.try_into().map_err(|_| IdError::WrongLength {
            kind,
            expected: LEGACY_CITIZEN_ID_CHARS,
            found: chars.len(),
        })?;
        check_region(kind, &digits[0..6], &chars)?;
        let birth_date = birth_date(
            kind,
            1900 + number(&digits[6..8]),
            number(&digits[8..10]),
            number(&digits[10..12]),
            &chars[6..12],
        )?;
        Ok(LegacyCitizenId15 { text: chars.iter().collect(), birth_date })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The sequence (positions 13–15) is odd for men, even for women.
    pub fn is_male(&self) -> bool {
        self.text.as_bytes().get(14).is_some_and(|b| b % 2 == 1)
    }

    pub fn region_code(&self) -> &str {
        self.text.get(0..6).unwrap_or_default()
    }

    /// The 18-character number this one converts to under GB 11643 (insert "19", add the check
    /// character). A hint for the reviewer only: the person's current card may carry a different
    /// region code, so compare it with the card, never substitute it silently.
    pub fn converted_18(&self) -> CitizenId {
        let mut body = [0u32; 17];
        let digits = self.text.chars().filter_map(|c| c.to_digit(10));
        let widened = digits.clone().take(6).chain([1, 9]).chain(digits.skip(6));
        for (slot, d) in body.iter_mut().zip(widened) {
            *slot = d;
        }
        let mut text: String = body.iter().filter_map(|&d| char::from_digit(d, 10)).collect();
        text.push(gb11643_check(&body));
        CitizenId { text, birth_date: self.birth_date }
    }
}

string_id!(LegacyCitizenId15);
string_id_schema!(
    LegacyCitizenId15,
    "^[1-9][0-9]{14}$",
    "A first-generation 15-digit citizen ID number: region (6), birth date YYMMDD (6), \
     sequence (3); no check digit."
);

// ---------------------------------------------------------------------------------------------
// Unified social credit codes
// ---------------------------------------------------------------------------------------------

/// A unified social credit code (统一社会信用代码, GB 32100-2015): registration authority (1) +
/// organisation class (1) + region (6) + organisation code (9, GB 11714) + check (1, MOD 31).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

impl CreditCode {
    pub fn parse(input: &str) -> Result<CreditCode, IdError> {
        let kind = IdKind::CreditCode;
        let chars = prepare(kind, input, CREDIT_CODE_CHARS)?;
        let values = chars
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                credit_value(c).ok_or(IdError::BadCharacter {
                    kind,
                    position: i + 1,
                    found: c,
                    allowed: ALLOWED_CREDIT,
                })
            })
            .collect::<Result<Vec<u32>, IdError>>()?;
        let check = chars.last().copied().unwrap_or(' ');
        let body: [u32; 17] = values
            .get(..17)
            .and_then(|b| b.try_into().ok())
            .ok_or(IdError::WrongLength { kind, expected: CREDIT_CODE_CHARS, found: chars.len() })?;
        let expected = gb32100_check(&body);
        if check != expected {
            return Err(IdError::BadCheck { kind, expected, found: check });
        }
        Ok(CreditCode(chars.iter().collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Position 1: the registration authority (登记管理部门), e.g. 9 = market regulation.
    pub fn registration_authority(&self) -> char {
        self.0.chars().next().unwrap_or('0')
    }

    /// Position 2: the organisation class (机构类别) within the authority.
    pub fn org_class(&self) -> char {
        self.0.chars().nth(1).unwrap_or('0')
    }

    /// Positions 3–8: the region code of the registering authority.
    pub fn region_code(&self) -> &str {
        self.0.get(2..8).unwrap_or_default()
    }

    /// Positions 9–17: the organisation code (组织机构代码, GB 11714), its own check last.
    pub fn org_code(&self) -> &str {
        self.0.get(8..17).unwrap_or_default()
    }

    /// Whether the organisation code satisfies its own GB 11714 check. A WARNING only: not every
    /// issued code is known to satisfy it, so a false here must never refuse the code.
    pub fn org_code_check_ok(&self) -> bool {
        let chars: Vec<char> = self.org_code().chars().collect();
        let Some((&check, body_chars)) = chars.split_last() else {
            return false;
        };
        let body: Option<Vec<u32>> = body_chars.iter().map(|&c| gb11714_value(c)).collect();
        match body.and_then(|b| <[u32; 8]>::try_from(b).ok()) {
            Some(body) => gb11714_check(&body) == check,
            None => false,
        }
    }
}

string_id!(CreditCode);
string_id_schema!(
    CreditCode,
    "^[0-9A-HJ-NP-RTUW-Y]{18}$",
    "A unified social credit code (统一社会信用代码, GB 32100-2015), 18 characters of 0-9 and A-Y \
     without I, O, S, V, Z; the last is a MOD 31 check character."
);

// ---------------------------------------------------------------------------------------------
// Applicants
// ---------------------------------------------------------------------------------------------

/// An applicant's identifying number. Serialized with its kind, because a string alone does not
/// always decide it (an all-digit credit code may also pass as a citizen ID).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "number", rename_all = "snake_case")]
pub enum ApplicantId {
    Person(CitizenId),
    Organisation(CreditCode),
    /// A 15-digit number: stored, always flagged for review, never eligible for tolerance
    /// acceptance without review.
    LegacyPerson(LegacyCitizenId15),
}

impl ApplicantId {
    /// Decides by shape: 15 characters → legacy citizen ID; 18 characters → a citizen ID if it
    /// validates as one, else a credit code. When the form already says person or organisation,
    /// parse [`CitizenId`] or [`CreditCode`] directly instead.
    pub fn parse(input: &str) -> Result<ApplicantId, IdError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(IdError::Empty { kind: IdKind::ApplicantId });
        }
        match trimmed.chars().count() {
            LEGACY_CITIZEN_ID_CHARS => LegacyCitizenId15::parse(trimmed).map(ApplicantId::LegacyPerson),
            CITIZEN_ID_CHARS => match CitizenId::parse(trimmed) {
                Ok(id) => Ok(ApplicantId::Person(id)),
                Err(citizen) => match CreditCode::parse(trimmed) {
                    Ok(code) => Ok(ApplicantId::Organisation(code)),
                    Err(credit) => Err(most_helpful(trimmed, citizen, credit)),
                },
            },
            found => Err(IdError::ApplicantIdWrongLength { found }),
        }
    }

    /// True for a legacy 15-digit number: a person must review it before it counts for anything
    /// the law ties to identity (tolerance acceptance included).
    pub fn needs_review(&self) -> bool {
        matches!(self, ApplicantId::LegacyPerson(_))
    }

    pub fn as_str(&self) -> &str {
        match self {
            ApplicantId::Person(id) => id.as_str(),
            ApplicantId::Organisation(code) => code.as_str(),
            ApplicantId::LegacyPerson(id) => id.as_str(),
        }
    }
}

impl fmt::Display for ApplicantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApplicantId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

/// Both readings of an 18-character number failed: pick the error the clerk can act on.
/// A letter other than X can only be a credit code; a digits-only number whose region and birth
/// date look right is a citizen ID with a typo; otherwise say both.
fn most_helpful(trimmed: &str, citizen: IdError, credit: IdError) -> IdError {
    let has_credit_letter = trimmed.chars().map(fold_char).any(|c| c.is_ascii_alphabetic() && c != 'X');
    if has_credit_letter {
        return credit;
    }
    match citizen {
        IdError::BadRegion { .. } | IdError::BadBirthDate { .. } => {
            IdError::NotRecognised { citizen: Box::new(citizen), credit: Box::new(credit) }
        }
        _ => citizen,
    }
}

/// An applicant (申请人): a person or an organisation, with contact details for notices (W6.2).
/// Built only through [`Applicant::new`] (deserializing too), so the name is never empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "ApplicantRecord")]
pub struct Applicant {
    id: ApplicantId,
    name: String,
    phone: Option<String>,
    address: Option<String>,
}

/// An [`Applicant`] as received, before [`Applicant::new`] checks it.
#[derive(Deserialize, JsonSchema)]
struct ApplicantRecord {
    id: ApplicantId,
    name: String,
    phone: Option<String>,
    address: Option<String>,
}

impl TryFrom<ApplicantRecord> for Applicant {
    type Error = IdError;
    fn try_from(r: ApplicantRecord) -> Result<Self, IdError> {
        Applicant::new(r.id, &r.name, r.phone.as_deref(), r.address.as_deref())
    }
}

/// Trimmed text of at most `max` characters, without control characters.
fn text_field(kind: IdKind, input: &str, max: usize) -> Result<String, IdError> {
    let trimmed = input.trim();
    let found = trimmed.chars().count();
    if found > max {
        return Err(IdError::TooLong { kind, max, found });
    }
    if let Some((i, c)) = trimmed.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(IdError::BadCharacter { kind, position: i + 1, found: c, allowed: ALLOWED_PRINTABLE });
    }
    Ok(trimmed.to_owned())
}

/// An optional text field: blank means absent.
fn optional_field(kind: IdKind, input: Option<&str>, max: usize) -> Result<Option<String>, IdError> {
    match input.map(|s| text_field(kind, s, max)).transpose()? {
        Some(s) if s.is_empty() => Ok(None),
        other => Ok(other),
    }
}

impl Applicant {
    /// Name: non-empty after trimming, at most [`APPLICANT_NAME_CHARS_MAX`] characters. Phone and
    /// address: trimmed, blank becomes `None`, bounded by [`PHONE_CHARS_MAX`] and
    /// [`ADDRESS_CHARS_MAX`]. No field may hold control characters (they break printed forms).
    pub fn new(
        id: ApplicantId,
        name: &str,
        phone: Option<&str>,
        address: Option<&str>,
    ) -> Result<Applicant, IdError> {
        let name = text_field(IdKind::ApplicantName, name, APPLICANT_NAME_CHARS_MAX)?;
        if name.is_empty() {
            return Err(IdError::Empty { kind: IdKind::ApplicantName });
        }
        Ok(Applicant {
            id,
            name,
            phone: optional_field(IdKind::Phone, phone, PHONE_CHARS_MAX)?,
            address: optional_field(IdKind::Address, address, ADDRESS_CHARS_MAX)?,
        })
    }

    pub fn id(&self) -> &ApplicantId {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }

    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// See [`ApplicantId::needs_review`].
    pub fn needs_review(&self) -> bool {
        self.id.needs_review()
    }
}

// ---------------------------------------------------------------------------------------------
// Agents (委托人)
// ---------------------------------------------------------------------------------------------

/// A written authorisation (授权委托书) for an agent to act for an applicant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Authorisation {
    /// The reference of the authorisation document as registered at the window.
    pub document_ref: String,
    /// 特别授权: the document expressly authorises signing commitments, not just handing in papers.
    pub specific: bool,
    /// Last day on which the authorisation is valid (inclusive); `None`: no end date stated.
    pub valid_until: Option<NaiveDate>,
}

/// An agent acting for an applicant. For an organisation's appointment the agent's own ID is
/// required besides the organisation's code certificate (W1.2), hence a full [`CitizenId`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Agent {
    pub id: CitizenId,
    pub name: String,
    pub authorisation: Authorisation,
}

/// Why an agent may not sign. Messages for the window clerk; [`AgentError::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AgentError {
    #[error("代理人姓名为空,请填写代理人姓名")]
    NameEmpty,
    #[error("未登记授权委托书,代理人不能代为签署承诺书;请登记书面授权委托书,或请申请人本人签署")]
    NoDocument,
    #[error("授权委托书不是特别授权,代理人不能代为签署承诺书;请提供写明特别授权的委托书,或请申请人本人签署")]
    NotSpecific,
    #[error(
        "授权委托书已于{}到期(签署日期{}),请提供有效的授权委托书,或请申请人本人签署",
        cn_date(.valid_until),
        cn_date(.on)
    )]
    Expired { valid_until: NaiveDate, on: NaiveDate },
}

impl AgentError {
    pub fn code(&self) -> &'static str {
        match self {
            AgentError::NameEmpty => "agent.name_empty",
            AgentError::NoDocument => "agent.no_document",
            AgentError::NotSpecific => "agent.not_specific",
            AgentError::Expired { .. } => "agent.expired",
        }
    }
}

impl Agent {
    /// Rule T3.2: an agent may sign the commitment (承诺书) only with a specific written
    /// authorisation that is registered and not expired on the day of signing.
    pub fn may_sign_commitment(&self, on: NaiveDate) -> Result<(), AgentError> {
        if self.name.trim().is_empty() {
            return Err(AgentError::NameEmpty);
        }
        let auth = &self.authorisation;
        if auth.document_ref.trim().is_empty() {
            return Err(AgentError::NoDocument);
        }
        if !auth.specific {
            return Err(AgentError::NotSpecific);
        }
        match auth.valid_until {
            Some(valid_until) if on > valid_until => Err(AgentError::Expired { valid_until, on }),
            _ => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Case numbers (办件编号)
// ---------------------------------------------------------------------------------------------

/// A node's code: region (6 digits, first 1-9) + node number (3 digits), assigned at enrolment
/// and unique in the network. Every case number a node issues starts with it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeCode(String);

impl NodeCode {
    pub fn parse(input: &str) -> Result<NodeCode, IdError> {
        let kind = IdKind::NodeCode;
        let chars = prepare(kind, input, NODE_CODE_CHARS)?;
        let digits = digit_values(kind, &chars)?;
        check_region(kind, digits.get(0..6).unwrap_or_default(), &chars)?;
        Ok(NodeCode(chars.iter().collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn region_code(&self) -> &str {
        self.0.get(0..6).unwrap_or_default()
    }

    /// The 3-digit node number within the region.
    pub fn node_number(&self) -> &str {
        self.0.get(6..9).unwrap_or_default()
    }
}

string_id!(NodeCode);
string_id_schema!(
    NodeCode,
    "^[1-9][0-9]{8}$",
    "A node's code: region (6 digits, the first 1-9) + node number (3 digits)."
);

/// A case number: `{region6}{node3}{yyMMdd}{serial5}{check1}`, 21 characters. The check character
/// is ISO 7064 MOD 11-2 over the first 20 digits (0-9 or X). The node code makes numbers from two
/// nodes disjoint; the serial is per node per day, from 00001.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CaseNumber {
    text: String,
    node: NodeCode,
    date: NaiveDate,
    serial: u32,
}

impl CaseNumber {
    /// The number `node` issues on `date` with `serial` (1..=[`CASE_SERIALS_PER_DAY_MAX`]).
    pub fn new(node: NodeCode, date: NaiveDate, serial: u32) -> Result<CaseNumber, IdError> {
        if !(CASE_NUMBER_YEAR_MIN..=CASE_NUMBER_YEAR_MAX).contains(&date.year()) {
            return Err(IdError::DateOutOfRange { date });
        }
        if !(1..=CASE_SERIALS_PER_DAY_MAX).contains(&serial) {
            return Err(IdError::BadSerial { serial });
        }
        let mut text =
            format!("{}{:02}{:02}{:02}{:05}", node, date.year() - 2000, date.month(), date.day(), serial);
        let body: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
        text.push(mod11_2_check(&body));
        Ok(CaseNumber { text, node, date, serial })
    }

    pub fn parse(input: &str) -> Result<CaseNumber, IdError> {
        let kind = IdKind::CaseNumber;
        let chars = prepare(kind, input, CASE_NUMBER_CHARS)?;
        let (&check, body_chars) = chars.split_last().ok_or(IdError::Empty { kind })?;
        let body: [u32; 20] = digit_values(kind, body_chars)?
            .try_into()
            .map_err(|_| IdError::WrongLength { kind, expected: CASE_NUMBER_CHARS, found: chars.len() })?;
        check_char_shape(kind, check, CASE_NUMBER_CHARS)?;
        check_region(kind, &body[0..6], &chars)?;
        let year = i32::try_from(2000 + number(&body[9..11])).unwrap_or(0);
        let date = NaiveDate::from_ymd_opt(year, number(&body[11..13]), number(&body[13..15]))
            .ok_or_else(|| IdError::BadDate { digits: chars[9..15].iter().collect() })?;
        let serial = number(&body[15..20]);
        if serial == 0 {
            return Err(IdError::BadSerial { serial });
        }
        let expected = mod11_2_check(&body);
        if check != expected {
            return Err(IdError::BadCheck { kind, expected, found: check });
        }
        Ok(CaseNumber {
            text: chars.iter().collect(),
            node: NodeCode(chars[0..9].iter().collect()),
            date,
            serial,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The node that issued the number.
    pub fn node(&self) -> &NodeCode {
        &self.node
    }

    /// The day the number was issued (the node's local date).
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The serial within the node's day, 1..=[`CASE_SERIALS_PER_DAY_MAX`].
    pub fn serial(&self) -> u32 {
        self.serial
    }
}

string_id!(CaseNumber);
string_id_schema!(
    CaseNumber,
    "^[1-9][0-9]{19}[0-9X]$",
    "A case number (办件编号), 21 characters: region (6) + node (3) + issue date yyMMdd (6) + \
     serial (5, from 00001) + check (ISO 7064 MOD 11-2 over the first 20 digits, 0-9 or X)."
);

/// Issues a node's case numbers. Pure: the caller passes today's date and must persist the
/// allocator durably (together with the case that takes the number) before showing the number,
/// or a crash could hand the same serial out twice (O2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "AllocatorState")]
pub struct CaseNumberAllocator {
    node: NodeCode,
    day: NaiveDate,
    /// The serial the next call issues; `CASE_SERIALS_PER_DAY_MAX + 1` once the day is used up.
    next_serial: u32,
}

/// A [`CaseNumberAllocator`] as stored, before [`CaseNumberAllocator::resume`] checks it.
#[derive(Deserialize, JsonSchema)]
struct AllocatorState {
    node: NodeCode,
    day: NaiveDate,
    next_serial: u32,
}

impl TryFrom<AllocatorState> for CaseNumberAllocator {
    type Error = IdError;
    fn try_from(s: AllocatorState) -> Result<Self, IdError> {
        CaseNumberAllocator::resume(s.node, s.day, s.next_serial)
    }
}

impl CaseNumberAllocator {
    /// A fresh allocator: the first number on `day` gets serial 1.
    pub fn new(node: NodeCode, day: NaiveDate) -> CaseNumberAllocator {
        CaseNumberAllocator { node, day, next_serial: 1 }
    }

    /// An allocator restored from its persisted state.
    pub fn resume(node: NodeCode, day: NaiveDate, next_serial: u32) -> Result<CaseNumberAllocator, IdError> {
        if !(1..=CASE_SERIALS_PER_DAY_MAX + 1).contains(&next_serial) {
            return Err(IdError::BadSerial { serial: next_serial });
        }
        Ok(CaseNumberAllocator { node, day, next_serial })
    }

    pub fn node(&self) -> &NodeCode {
        &self.node
    }

    /// The day of the last issued number (or of creation).
    pub fn day(&self) -> NaiveDate {
        self.day
    }

    pub fn next_serial(&self) -> u32 {
        self.next_serial
    }

    /// The next case number on `today`. The serial restarts at 1 when the day changes. Refused:
    /// a day earlier than the allocator's day (the clock went back; issuing could repeat a
    /// number), and more than [`CASE_SERIALS_PER_DAY_MAX`] numbers in one day. On refusal the
    /// allocator is unchanged.
    pub fn next(&mut self, today: NaiveDate) -> Result<CaseNumber, IdError> {
        if today < self.day {
            return Err(IdError::ClockWentBackwards { last_day: self.day, today });
        }
        let serial = if today > self.day { 1 } else { self.next_serial };
        if serial > CASE_SERIALS_PER_DAY_MAX {
            return Err(IdError::SerialsExhausted { node: self.node.clone(), day: today });
        }
        let number = CaseNumber::new(self.node.clone(), today, serial)?;
        self.day = today;
        self.next_serial = serial + 1;
        Ok(number)
    }

    /// Moves past a number this node is known to have issued already (for example one found in
    /// synced data after the node was restored from an older backup), so it is never issued
    /// again. Numbers of other nodes and of earlier days are ignored.
    pub fn observe_issued(&mut self, issued: &CaseNumber) {
        if issued.node != self.node || issued.date < self.day {
            return;
        }
        if issued.date > self.day {
            self.day = issued.date;
            self.next_serial = issued.serial + 1;
        } else if issued.serial >= self.next_serial {
            self.next_serial = issued.serial + 1;
        }
    }
}

/// The number the provincial platform assigns to a case later (省级平台办件编号). Its format is
/// the province's; we only require it to be non-empty, bounded and printable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProvincialNumber(String);

impl ProvincialNumber {
    pub fn parse(input: &str) -> Result<ProvincialNumber, IdError> {
        let kind = IdKind::ProvincialNumber;
        let text = text_field(kind, input, PROVINCIAL_NUMBER_CHARS_MAX)?;
        if text.is_empty() {
            return Err(IdError::Empty { kind });
        }
        Ok(ProvincialNumber(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_id!(ProvincialNumber);

impl JsonSchema for ProvincialNumber {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("ProvincialNumber")
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed(concat!(module_path!(), "::ProvincialNumber"))
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        const DESCRIPTION: &str = "The number the provincial platform assigns to a case (省级平台办件编号), in the \
                                   province's format: printable, no control characters.";
        if generator.contract().is_serialize() {
            json_schema!({
                "type": "string",
                "minLength": 1,
                "maxLength": PROVINCIAL_NUMBER_CHARS_MAX,
                "description": DESCRIPTION,
            })
        } else {
            // The parser trims first, so untrimmed input may be longer than the limit.
            json_schema!({ "type": "string", "minLength": 1, "description": DESCRIPTION })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    // Independent implementations of the check characters, written from DOMAIN-FACTS.md, so the
    // tests do not merely repeat the code under test.

    fn id_check(body: &str) -> char {
        let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body.chars().zip(w).map(|(c, w)| c.to_digit(10).expect("digit") * w).sum();
        "10X98765432".chars().nth((sum % 11) as usize).expect("11 chars")
    }

    fn id_remainder(body: &str) -> u32 {
        let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        body.chars().zip(w).map(|(c, w)| c.to_digit(10).expect("digit") * w).sum::<u32>() % 11
    }

    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

    fn credit_sum(body: &str) -> u32 {
        let w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
        body.chars().zip(w).map(|(c, w)| ALPHABET.find(c).expect("alphabet char") as u32 * w).sum()
    }

    fn credit_check(body: &str) -> char {
        let v = 31 - credit_sum(body) % 31;
        let v = if v == 31 { 0 } else { v };
        ALPHABET.chars().nth(v as usize).expect("31 chars")
    }

    fn org_sum(body8: &str) -> u32 {
        let w = [3, 7, 9, 10, 5, 8, 4, 2];
        body8
            .chars()
            .zip(w)
            .map(|(c, w)| {
                let v = if c.is_ascii_digit() { c as u32 - '0' as u32 } else { 10 + c as u32 - 'A' as u32 };
                v * w
            })
            .sum()
    }

    fn org_check(body8: &str) -> char {
        match 11 - org_sum(body8) % 11 {
            10 => 'X',
            11 => '0',
            c => char::from_digit(c, 10).expect("digit"),
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn node(code: &str) -> NodeCode {
        NodeCode::parse(code).expect("valid node code")
    }

    // --- citizen IDs -------------------------------------------------------------------------

    #[test]
    fn citizen_id_vectors_are_accepted() {
        for s in ["11010519491231002X", "440524188001010014", "110105195001010039"] {
            let id = CitizenId::parse(s).expect("valid vector");
            assert_eq!(id.as_str(), s);
            assert_eq!(id.to_string(), s);
        }
        let id = CitizenId::parse("11010519491231002X").expect("valid");
        assert_eq!(id.birth_date(), date(1949, 12, 31));
        assert_eq!(id.region_code(), "110105");
        assert!(!id.is_male()); // sequence 002
        let old = CitizenId::parse("440524188001010014").expect("1880 birth year is valid");
        assert_eq!(old.birth_date(), date(1880, 1, 1));
        assert!(old.is_male()); // sequence 001
        assert!(CitizenId::parse("110105195001010039").expect("valid").is_male());
    }

    #[test]
    fn lower_case_x_is_accepted_and_stored_upper_case() {
        let id = CitizenId::parse("11010519491231002x").expect("lower-case x");
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id, CitizenId::parse("11010519491231002X").expect("valid"));
    }

    #[test]
    fn whitespace_and_full_width_digits_are_normalised() {
        let id = CitizenId::parse("  11010519491231002X\t").expect("trimmed");
        assert_eq!(id.as_str(), "11010519491231002X");
        let full = CitizenId::parse("\u{3000}１１０１０５１９４９１２３１００２ｘ").expect("full-width");
        assert_eq!(full.as_str(), "11010519491231002X");
    }

    #[test]
    fn citizen_id_errors_are_specific_and_in_chinese() {
        let e = CitizenId::parse("11010519491231002").expect_err("17 chars");
        assert_eq!(e.to_string(), "身份证号码应为18位,实际为17位");
        assert_eq!(e.code(), "id.wrong_length");

        let e = CitizenId::parse("110105194912310023").expect_err("bad check");
        assert_eq!(e, IdError::BadCheck { kind: IdKind::CitizenId, expected: 'X', found: '3' });
        assert!(e.to_string().starts_with("身份证号码校验位错误:应为X,实际为3,请核对号码"));
        assert_eq!(e.code(), "id.bad_check");

        let e = CitizenId::parse("1101051949123A002X").expect_err("letter");
        assert_eq!(e.code(), "id.bad_character");
        assert!(matches!(e, IdError::BadCharacter { position: 14, .. }));
        assert!(e.to_string().contains("第14位"));

        let e = CitizenId::parse("11010519491231002Y").expect_err("Y check");
        assert!(matches!(e, IdError::BadCharacter { position: 18, .. }));

        let e = CitizenId::parse("01010519491231002X").expect_err("region 0");
        assert_eq!(e.code(), "id.bad_region");
        assert!(e.to_string().contains("010105"));

        let body = "11010519490229002";
        let e = CitizenId::parse(&format!("{body}{}", id_check(body))).expect_err("1949-02-29");
        assert_eq!(e.code(), "id.bad_birth_date");
        assert!(e.to_string().contains("19490229"));

        let body = "11010517991231002";
        let e = CitizenId::parse(&format!("{body}{}", id_check(body))).expect_err("1799");
        assert_eq!(e.code(), "id.bad_birth_date");

        let e = CitizenId::parse("   ").expect_err("blank");
        assert_eq!(e.code(), "id.empty");
    }

    /// A public Go library gets remainder 0 wrong (DOMAIN-FACTS): Σ mod 11 == 0 must give '1'.
    #[test]
    fn citizen_id_remainder_zero_gives_check_1() {
        let body = (0..1000)
            .map(|seq| format!("11010519800101{seq:03}"))
            .find(|b| id_remainder(b) == 0)
            .expect("some sequence gives remainder 0");
        let valid = format!("{body}1");
        let id = CitizenId::parse(&valid).expect("remainder 0, check 1");
        assert_eq!(id.as_str(), valid);
        for wrong in "023456789X".chars() {
            let e = CitizenId::parse(&format!("{body}{wrong}")).expect_err("wrong check");
            assert_eq!(e, IdError::BadCheck { kind: IdKind::CitizenId, expected: '1', found: wrong });
        }
    }

    #[test]
    fn citizen_id_every_remainder_maps_to_the_standard_character() {
        for r in 0..11 {
            let body = (0..1000)
                .map(|seq| format!("44052419700615{seq:03}"))
                .find(|b| id_remainder(b) == r)
                .expect("every remainder occurs");
            let expected = "10X98765432".chars().nth(r as usize).expect("11");
            let id = CitizenId::parse(&format!("{body}{expected}")).expect("valid");
            assert!(id.as_str().ends_with(expected));
        }
    }

    #[test]
    fn generic_mod11_2_weights_are_the_gb11643_weights() {
        let generic: Vec<u32> = (0..17).map(|i| mod11_2_weight(17, i)).collect();
        assert_eq!(generic, GB11643_WEIGHTS.to_vec());
        // and against 2^(n-i) mod 11 computed the long way, for the case-number length
        for i in 0..20 {
            let long_way = (2u64.pow(20 - i as u32) % 11) as u32;
            assert_eq!(mod11_2_weight(20, i), long_way);
        }
        let body: Vec<u32> = "11010519491231002".chars().filter_map(|c| c.to_digit(10)).collect();
        assert_eq!(mod11_2_check(&body), 'X');
    }

    #[test]
    fn legacy_15_digit_numbers_parse_and_need_review() {
        let legacy = LegacyCitizenId15::parse("110105491231002").expect("valid legacy");
        assert_eq!(legacy.birth_date(), date(1949, 12, 31));
        assert_eq!(legacy.region_code(), "110105");
        assert!(!legacy.is_male());
        assert_eq!(legacy.converted_18().as_str(), "11010519491231002X");

        let applicant = ApplicantId::parse("110105491231002").expect("legacy applicant");
        assert!(matches!(applicant, ApplicantId::LegacyPerson(_)));
        assert!(applicant.needs_review());

        let e = LegacyCitizenId15::parse("110105490230002").expect_err("Feb 30");
        assert_eq!(e.code(), "id.bad_birth_date");
        assert!(e.to_string().contains("第7至12位"));
        let e = LegacyCitizenId15::parse("11010549123100X").expect_err("no X in legacy");
        assert_eq!(e.code(), "id.bad_character");
    }

    // --- credit codes ------------------------------------------------------------------------

    #[test]
    fn credit_code_vectors() {
        let code = CreditCode::parse("91350100M000100Y43").expect("valid vector");
        assert_eq!(code.as_str(), "91350100M000100Y43");
        assert_eq!(code.registration_authority(), '9');
        assert_eq!(code.org_class(), '1');
        assert_eq!(code.region_code(), "350100");
        assert_eq!(code.org_code(), "M000100Y4");
        assert!(code.org_code_check_ok());

        let e = CreditCode::parse("91350100M000100Y4Z").expect_err("invalid vector");
        assert_eq!(e.code(), "id.bad_character"); // Z is not in the alphabet
        assert!(matches!(e, IdError::BadCharacter { position: 18, found: 'Z', .. }));

        let e = CreditCode::parse("91350100M000100Y44").expect_err("wrong check");
        assert_eq!(e, IdError::BadCheck { kind: IdKind::CreditCode, expected: '3', found: '4' });
        assert!(e.to_string().starts_with("统一社会信用代码校验位错误:应为3,实际为4"));
    }

    #[test]
    fn credit_code_lower_case_is_stored_upper_case() {
        let code = CreditCode::parse("91350100m000100y43").expect("lower case");
        assert_eq!(code.as_str(), "91350100M000100Y43");
    }

    #[test]
    fn credit_code_letters_i_o_s_v_z_are_refused() {
        for bad in ['I', 'O', 'S', 'V', 'Z'] {
            let s = format!("91350100M000100{bad}43");
            let e = CreditCode::parse(&s).expect_err("excluded letter");
            assert!(matches!(e, IdError::BadCharacter { position: 16, .. }), "{bad}: {e:?}");
            assert!(e.to_string().contains("不含I、O、S、V、Z"));
        }
    }

    /// A public Go library gets remainder 0 wrong (DOMAIN-FACTS): Σ mod 31 == 0 must give '0'.
    #[test]
    fn credit_code_remainder_zero_gives_check_0() {
        let body = (0..1000)
            .map(|n| format!("91350100M000{n:03}Y4"))
            .find(|b| credit_sum(b).is_multiple_of(31))
            .expect("some body gives remainder 0");
        let valid = format!("{body}0");
        let code = CreditCode::parse(&valid).expect("remainder 0, check 0");
        assert_eq!(code.as_str(), valid);
        for wrong in ALPHABET.chars().filter(|&c| c != '0') {
            let e = CreditCode::parse(&format!("{body}{wrong}")).expect_err("wrong check");
            assert_eq!(e, IdError::BadCheck { kind: IdKind::CreditCode, expected: '0', found: wrong });
        }
    }

    #[test]
    fn credit_code_every_remainder_maps_to_its_check_value() {
        for r in 0..31 {
            let body = (0..1000)
                .map(|n| format!("12440300{n:03}000000"))
                .find(|b| credit_sum(b) % 31 == r)
                .expect("every remainder occurs");
            let expected = ALPHABET.chars().nth(((31 - r) % 31) as usize).expect("31");
            CreditCode::parse(&format!("{body}{expected}")).expect("valid");
        }
    }

    /// GB 11714 inside a credit code: remainder 0 gives '0', remainder 1 gives 'X'; a failing
    /// organisation check is a warning only, the credit code is still accepted.
    #[test]
    fn org_code_check_remainders_and_warning_only() {
        for (remainder, expected_check) in [(0, '0'), (1, 'X')] {
            let org_body = (0..100_000)
                .map(|n| format!("MA{n:05}0"))
                .find(|b| org_sum(b) % 11 == remainder)
                .expect("remainder occurs");
            assert_eq!(org_check(&org_body), expected_check);
            let body = format!("91350100{org_body}{expected_check}");
            let code =
                CreditCode::parse(&format!("{body}{}", credit_check(&body))).expect("valid credit code");
            assert!(code.org_code_check_ok(), "remainder {remainder}");

            let wrong = if expected_check == '0' { '1' } else { '0' };
            let body = format!("91350100{org_body}{wrong}");
            let code = CreditCode::parse(&format!("{body}{}", credit_check(&body)))
                .expect("org check failure is only a warning");
            assert!(!code.org_code_check_ok());
        }
    }

    // --- applicants --------------------------------------------------------------------------

    #[test]
    fn applicant_id_decides_by_shape() {
        assert!(matches!(ApplicantId::parse("11010519491231002x").expect("person"), ApplicantId::Person(_)));
        assert!(matches!(
            ApplicantId::parse("91350100M000100Y43").expect("organisation"),
            ApplicantId::Organisation(_)
        ));
        assert!(!ApplicantId::parse("91350100M000100Y43").expect("org").needs_review());

        let e = ApplicantId::parse("1101051949123100").expect_err("16 chars");
        assert_eq!(e.code(), "id.wrong_length");
        assert!(e.to_string().contains("实际为16位"));

        // a digits-only number with a plausible region and date: a citizen ID with a typo
        let e = ApplicantId::parse("110105194912310023").expect_err("bad check");
        assert!(e.to_string().starts_with("身份证号码校验位错误"));
        assert!(matches!(e, IdError::BadCheck { kind: IdKind::CitizenId, .. }));

        // letters other than X: a credit code with a typo
        let e = ApplicantId::parse("91350100M000100Y44").expect_err("bad check");
        assert!(matches!(e, IdError::BadCheck { kind: IdKind::CreditCode, .. }));

        // digits only, impossible birth date, and not a credit code either: say both
        let e = ApplicantId::parse("110105194913310023").expect_err("neither");
        assert_eq!(e.code(), "id.not_recognised");
        assert!(e.to_string().contains("出生日期"));
        assert!(e.to_string().contains("统一社会信用代码"));
    }

    #[test]
    fn applicant_name_is_required_and_bounded() {
        let id = ApplicantId::parse("11010519491231002X").expect("valid");
        let a = Applicant::new(id.clone(), "  张三 ", Some(" "), Some("新郑市中华路1号"))
            .expect("valid applicant");
        assert_eq!(a.name(), "张三");
        assert_eq!(a.phone(), None);
        assert_eq!(a.address(), Some("新郑市中华路1号"));

        let e = Applicant::new(id.clone(), " \t", None, None).expect_err("blank name");
        assert_eq!(e.code(), "id.empty");
        assert_eq!(e.to_string(), "申请人姓名或名称不能为空,请填写");

        let max = "郑".repeat(APPLICANT_NAME_CHARS_MAX);
        Applicant::new(id.clone(), &max, None, None).expect("exactly the maximum");
        let over = "郑".repeat(APPLICANT_NAME_CHARS_MAX + 1);
        let e = Applicant::new(id.clone(), &over, None, None).expect_err("too long");
        assert_eq!(e, IdError::TooLong { kind: IdKind::ApplicantName, max: 100, found: 101 });
        let e = Applicant::new(id, "张\n三", None, None).expect_err("control char");
        assert_eq!(e.code(), "id.bad_character");
    }

    // --- agents ------------------------------------------------------------------------------

    fn agent(specific: bool, document_ref: &str, valid_until: Option<NaiveDate>) -> Agent {
        Agent {
            id: CitizenId::parse("110105195001010039").expect("valid"),
            name: "李四".to_string(),
            authorisation: Authorisation { document_ref: document_ref.to_string(), specific, valid_until },
        }
    }

    #[test]
    fn agent_with_specific_written_authorisation_may_sign() {
        // rule T3.2
        let on = date(2026, 3, 2);
        assert_eq!(agent(true, "委托书-0001", None).may_sign_commitment(on), Ok(()));
        assert_eq!(
            agent(true, "委托书-0001", Some(on)).may_sign_commitment(on),
            Ok(()),
            "valid through its last day"
        );
    }

    #[test]
    fn agent_without_specific_authorisation_may_not_sign() {
        // rule T3.2
        let on = date(2026, 3, 2);
        let e = agent(false, "委托书-0001", None).may_sign_commitment(on).expect_err("general authorisation");
        assert_eq!(e, AgentError::NotSpecific);
        assert_eq!(e.code(), "agent.not_specific");
        assert!(e.to_string().contains("特别授权"));

        let e = agent(true, "  ", None).may_sign_commitment(on).expect_err("no written document");
        assert_eq!(e.code(), "agent.no_document");

        let e =
            agent(true, "委托书-0001", Some(date(2026, 3, 1))).may_sign_commitment(on).expect_err("expired");
        assert_eq!(e, AgentError::Expired { valid_until: date(2026, 3, 1), on });
        assert!(e.to_string().contains("2026年3月1日"));

        let mut nameless = agent(true, "委托书-0001", None);
        nameless.name = " ".to_string();
        assert_eq!(nameless.may_sign_commitment(on), Err(AgentError::NameEmpty));
    }

    // --- case numbers ------------------------------------------------------------------------

    #[test]
    fn case_number_layout_and_round_trip() {
        let n = CaseNumber::new(node("410184001"), date(2026, 3, 2), 42).expect("valid");
        assert_eq!(n.as_str().len(), CASE_NUMBER_CHARS);
        assert!(n.as_str().starts_with("41018400126030200042"));
        let body: Vec<u32> = "41018400126030200042".chars().filter_map(|c| c.to_digit(10)).collect();
        let sum: u32 = body.iter().enumerate().map(|(i, d)| d * (2u64.pow(20 - i as u32) % 11) as u32).sum();
        let check = "10X98765432".chars().nth((sum % 11) as usize).expect("11");
        assert_eq!(n.as_str().chars().last(), Some(check));

        let parsed = CaseNumber::parse(n.as_str()).expect("round trip");
        assert_eq!(parsed, n);
        assert_eq!(parsed.node().as_str(), "410184001");
        assert_eq!(parsed.node().region_code(), "410184");
        assert_eq!(parsed.node().node_number(), "001");
        assert_eq!(parsed.date(), date(2026, 3, 2));
        assert_eq!(parsed.serial(), 42);
        assert_eq!(parsed.to_string(), n.as_str());
    }

    #[test]
    fn case_number_refusals() {
        let e = CaseNumber::new(node("410184001"), date(2026, 3, 2), 0).expect_err("serial 0");
        assert_eq!(e.code(), "id.bad_serial");
        CaseNumber::new(node("410184001"), date(2026, 3, 2), CASE_SERIALS_PER_DAY_MAX)
            .expect("the maximum serial");
        let e = CaseNumber::new(node("410184001"), date(2026, 3, 2), CASE_SERIALS_PER_DAY_MAX + 1)
            .expect_err("beyond the maximum");
        assert_eq!(e.code(), "id.bad_serial");
        let e = CaseNumber::new(node("410184001"), date(2100, 1, 1), 1).expect_err("2100");
        assert_eq!(e.code(), "id.date_out_of_range");

        let e = CaseNumber::parse("41018400126023000042X").expect_err("Feb 30");
        assert_eq!(e.code(), "id.bad_date");
        let e = CaseNumber::parse("4101840012603020004").expect_err("short");
        assert_eq!(e.to_string(), "办件编号应为21位,实际为19位");

        assert_eq!(NodeCode::parse("010184001").expect_err("region 0").code(), "id.bad_region");
        assert_eq!(NodeCode::parse("41018400A").expect_err("letter").code(), "id.bad_character");
    }

    #[test]
    fn allocator_restarts_serial_each_day() {
        let mut a = CaseNumberAllocator::new(node("410184001"), date(2026, 3, 2));
        assert_eq!(a.next(date(2026, 3, 2)).expect("1").serial(), 1);
        assert_eq!(a.next(date(2026, 3, 2)).expect("2").serial(), 2);
        let n = a.next(date(2026, 3, 3)).expect("new day");
        assert_eq!((n.date(), n.serial()), (date(2026, 3, 3), 1));
        assert_eq!(a.day(), date(2026, 3, 3));
        assert_eq!(a.next_serial(), 2);
    }

    #[test]
    fn allocator_refuses_beyond_the_daily_bound() {
        let day = date(2026, 3, 2);
        let mut a = CaseNumberAllocator::new(node("410184001"), day);
        for expected in 1..=CASE_SERIALS_PER_DAY_MAX {
            assert_eq!(a.next(day).expect("within bound").serial(), expected);
        }
        let e = a.next(day).expect_err("bound exceeded");
        assert_eq!(e.code(), "id.serials_exhausted");
        assert!(e.to_string().contains("99999"));
        assert_eq!(a.next(day).expect_err("still exhausted").code(), "id.serials_exhausted");
        assert_eq!(a.next(date(2026, 3, 3)).expect("next day").serial(), 1);
    }

    #[test]
    fn allocator_refuses_when_the_clock_goes_back() {
        let mut a = CaseNumberAllocator::new(node("410184001"), date(2026, 3, 2));
        a.next(date(2026, 3, 3)).expect("forward");
        let before = a.clone();
        let e = a.next(date(2026, 3, 2)).expect_err("backwards");
        assert_eq!(e, IdError::ClockWentBackwards { last_day: date(2026, 3, 3), today: date(2026, 3, 2) });
        assert_eq!(e.code(), "id.clock_went_backwards");
        assert!(e.to_string().contains("电脑时钟可能被调回"));
        assert_eq!(a, before, "a refusal leaves the allocator unchanged");
    }

    #[test]
    fn allocator_skips_numbers_observed_after_a_restore() {
        let day = date(2026, 3, 2);
        let mut live = CaseNumberAllocator::new(node("410184001"), day);
        let issued: Vec<CaseNumber> = (0..5).map(|_| live.next(day).expect("issue")).collect();
        let mut restored = CaseNumberAllocator::new(node("410184001"), day); // an older backup
        for n in &issued {
            restored.observe_issued(n);
        }
        let other = CaseNumber::new(node("410184002"), day, 900).expect("other node");
        restored.observe_issued(&other);
        assert_eq!(restored.next(day).expect("after restore").serial(), 6);
    }

    #[test]
    fn provincial_number_is_bounded() {
        assert_eq!(
            ProvincialNumber::parse(" 4100002026030200001 ").expect("valid").as_str(),
            "4100002026030200001"
        );
        assert_eq!(ProvincialNumber::parse("").expect_err("empty").code(), "id.empty");
        let over = "9".repeat(PROVINCIAL_NUMBER_CHARS_MAX + 1);
        assert_eq!(ProvincialNumber::parse(&over).expect_err("long").code(), "id.too_long");
        ProvincialNumber::parse(&"9".repeat(PROVINCIAL_NUMBER_CHARS_MAX)).expect("at the bound");
    }

    // --- serde -------------------------------------------------------------------------------

    #[test]
    fn ids_serialize_as_plain_strings_and_invalid_values_do_not_deserialize() {
        let id = CitizenId::parse("11010519491231002X").expect("valid");
        assert_eq!(serde_json::to_string(&id).expect("ser"), "\"11010519491231002X\"");
        let back: CitizenId = serde_json::from_str("\"11010519491231002X\"").expect("de");
        assert_eq!(back, id);
        assert!(serde_json::from_str::<CitizenId>("\"110105194912310023\"").is_err());
        assert!(serde_json::from_str::<CreditCode>("\"91350100M000100Y4Z\"").is_err());
        assert!(serde_json::from_str::<NodeCode>("\"0101\"").is_err());
        assert!(serde_json::from_str::<CaseNumber>("\"41018400126023000042X\"").is_err());

        let org = ApplicantId::parse("91350100M000100Y43").expect("valid");
        let json = serde_json::to_string(&org).expect("ser");
        assert_eq!(json, r#"{"kind":"organisation","number":"91350100M000100Y43"}"#);
        assert_eq!(serde_json::from_str::<ApplicantId>(&json).expect("de"), org);

        let applicant = Applicant::new(org, "某某有限公司", Some("0371-62000000"), None).expect("ok");
        let json = serde_json::to_string(&applicant).expect("ser");
        assert_eq!(serde_json::from_str::<Applicant>(&json).expect("de"), applicant);
        let blank = json.replace("某某有限公司", " ");
        assert!(serde_json::from_str::<Applicant>(&blank).is_err());

        let a = CaseNumberAllocator::new(node("410184001"), date(2026, 3, 2));
        let json = serde_json::to_string(&a).expect("ser");
        assert_eq!(serde_json::from_str::<CaseNumberAllocator>(&json).expect("de"), a);
        let zero = json.replace("\"next_serial\":1", "\"next_serial\":0");
        assert!(serde_json::from_str::<CaseNumberAllocator>(&zero).is_err());
    }

    #[test]
    fn every_error_has_a_code_and_a_chinese_message() {
        let errors = [
            CitizenId::parse("").expect_err("e"),
            CitizenId::parse("1").expect_err("e"),
            CitizenId::parse("11010519491231002Y").expect_err("e"),
            CreditCode::parse("91350100M000100Y44").expect_err("e"),
            ApplicantId::parse("1").expect_err("e"),
        ];
        for e in errors {
            assert!(e.code().starts_with("id."));
            assert!(e.to_string().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        }
    }

    // --- properties --------------------------------------------------------------------------

    const DAYS_1800_TO_2099: i64 = 109_572; // 1800-01-01 ..= 2099-12-31

    fn citizen_strategy() -> impl Strategy<Value = String> {
        (1u32..=9, 0u32..100_000, 0i64..=DAYS_1800_TO_2099, 0u32..1000).prop_map(|(r0, r, days, seq)| {
            let birth = date(1800, 1, 1) + chrono::Duration::days(days);
            let body = format!("{r0}{r:05}{}{seq:03}", birth.format("%Y%m%d"));
            format!("{body}{}", id_check(&body))
        })
    }

    fn credit_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(0usize..31, 17).prop_map(|values| {
            let body: String = values.iter().map(|&v| ALPHABET.chars().nth(v).expect("31")).collect();
            format!("{body}{}", credit_check(&body))
        })
    }

    fn node_strategy() -> impl Strategy<Value = NodeCode> {
        (1u32..=9, 0u32..100_000, 0u32..1000).prop_map(|(r0, r, n)| node(&format!("{r0}{r:05}{n:03}")))
    }

    fn all_parsers(s: &str) {
        let _ = CitizenId::parse(s);
        let _ = LegacyCitizenId15::parse(s);
        let _ = CreditCode::parse(s);
        let _ = ApplicantId::parse(s);
        let _ = NodeCode::parse(s);
        let _ = CaseNumber::parse(s);
        let _ = ProvincialNumber::parse(s);
        if let Ok(id) = ApplicantId::parse(s) {
            let _ = id.to_string();
        }
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_any_string(s in any::<String>()) {
            all_parsers(&s);
        }

        #[test]
        fn parsers_never_panic_on_id_like_strings(s in "[0-9A-Za-z０-９ｘＸ \u{3000}]{0,24}") {
            all_parsers(&s);
            for e in [CitizenId::parse(&s).err(), CreditCode::parse(&s).err(), ApplicantId::parse(&s).err()].into_iter().flatten() {
                prop_assert!(!e.to_string().is_empty());
                prop_assert!(!e.code().is_empty());
            }
        }

        #[test]
        fn valid_citizen_ids_parse_and_round_trip(s in citizen_strategy()) {
            let id = CitizenId::parse(&s).expect("generated valid id");
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert_eq!(id.birth_date().format("%Y%m%d").to_string(), s[6..14].to_string());
            let seq_digit = s.as_bytes()[16] - b'0';
            prop_assert_eq!(id.is_male(), seq_digit % 2 == 1);
            let json = serde_json::to_string(&id).expect("ser");
            prop_assert_eq!(serde_json::from_str::<CitizenId>(&json).expect("de"), id.clone());
            prop_assert!(matches!(ApplicantId::parse(&s).expect("applicant"), ApplicantId::Person(_)));
        }

        #[test]
        fn any_single_character_change_in_a_citizen_id_is_refused(s in citizen_strategy()) {
            let chars: Vec<char> = s.chars().collect();
            for i in 0..chars.len() {
                let alternatives = if i == 17 { "0123456789X" } else { "0123456789" };
                for c in alternatives.chars().filter(|&c| c != chars[i]) {
                    let mut changed = chars.clone();
                    changed[i] = c;
                    let changed: String = changed.into_iter().collect();
                    prop_assert!(CitizenId::parse(&changed).is_err(), "{} accepted", changed);
                }
            }
        }

        #[test]
        fn valid_credit_codes_parse_and_round_trip(s in credit_strategy()) {
            let code = CreditCode::parse(&s).expect("generated valid code");
            prop_assert_eq!(code.as_str(), s.as_str());
            let lower = CreditCode::parse(&s.to_lowercase()).expect("lower case");
            prop_assert_eq!(&lower, &code);
            let json = serde_json::to_string(&code).expect("ser");
            prop_assert_eq!(serde_json::from_str::<CreditCode>(&json).expect("de"), code);
            let _ = lower.org_code_check_ok();
        }

        #[test]
        fn any_single_character_change_in_a_credit_code_is_refused(s in credit_strategy()) {
            let chars: Vec<char> = s.chars().collect();
            for i in 0..chars.len() {
                for c in ALPHABET.chars().filter(|&c| c != chars[i]) {
                    let mut changed = chars.clone();
                    changed[i] = c;
                    let changed: String = changed.into_iter().collect();
                    prop_assert!(CreditCode::parse(&changed).is_err(), "{} accepted", changed);
                }
            }
        }

        #[test]
        fn case_numbers_round_trip_and_detect_single_changes(
            n in node_strategy(),
            days in 0i64..36_524,
            serial in 1u32..=CASE_SERIALS_PER_DAY_MAX,
        ) {
            let number = CaseNumber::new(n, date(2000, 1, 1) + chrono::Duration::days(days), serial)
                .expect("valid");
            prop_assert_eq!(CaseNumber::parse(number.as_str()).expect("parse"), number.clone());
            let chars: Vec<char> = number.as_str().chars().collect();
            for i in 0..chars.len() {
                let alternatives = if i == 20 { "0123456789X" } else { "0123456789" };
                for c in alternatives.chars().filter(|&c| c != chars[i]) {
                    let mut changed = chars.clone();
                    changed[i] = c;
                    let changed: String = changed.into_iter().collect();
                    prop_assert!(CaseNumber::parse(&changed).is_err(), "{} accepted", changed);
                }
            }
        }

        #[test]
        fn two_nodes_never_issue_the_same_number(
            a in node_strategy(),
            b in node_strategy(),
            start in 0i64..30_000,
            steps in proptest::collection::vec((0i64..3, 0usize..40, 0usize..40), 1..30),
        ) {
            prop_assume!(a != b);
            let mut day = date(2000, 1, 1) + chrono::Duration::days(start);
            let mut alloc_a = CaseNumberAllocator::new(a, day);
            let mut alloc_b = CaseNumberAllocator::new(b, day);
            let mut from_a = HashSet::new();
            let mut from_b = HashSet::new();
            for (advance, count_a, count_b) in steps {
                day += chrono::Duration::days(advance);
                for _ in 0..count_a {
                    prop_assert!(from_a.insert(alloc_a.next(day).expect("a issues")));
                }
                for _ in 0..count_b {
                    prop_assert!(from_b.insert(alloc_b.next(day).expect("b issues")));
                }
            }
            prop_assert!(from_a.is_disjoint(&from_b));
            let texts_a: HashSet<&str> = from_a.iter().map(|n| n.as_str()).collect();
            prop_assert!(from_b.iter().all(|n| !texts_a.contains(n.as_str())));
        }

        #[test]
        fn one_allocator_never_repeats_whatever_the_clock_does(
            steps in proptest::collection::vec((-3i64..=3, 0usize..20), 1..40),
        ) {
            let mut day = date(2026, 1, 1);
            let mut alloc = CaseNumberAllocator::new(node("410184001"), day);
            let mut seen = HashSet::new();
            for (shift, count) in steps {
                day += chrono::Duration::days(shift);
                for _ in 0..count {
                    match alloc.next(day) {
                        Ok(n) => prop_assert!(seen.insert(n.as_str().to_owned()), "repeated"),
                        Err(e) => prop_assert_eq!(e.code(), "id.clock_went_backwards"),
                    }
                }
            }
        }
    }
}
