//! Stored values carry a version byte and the first 8 bytes of their BLAKE3 hash, so that a torn
//! or rotten value is detected on read (sled has open upstream issues on corruption after a hard
//! stop) instead of being handed to Automerge.

const RECORD_VERSION: u8 = 1;
const CHECKSUM_BYTES: usize = 8;
const HEADER_BYTES: usize = 1 + CHECKSUM_BYTES;

pub fn seal(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.push(RECORD_VERSION);
    out.extend_from_slice(&blake3::hash(payload).as_bytes()[..CHECKSUM_BYTES]);
    out.extend_from_slice(payload);
    out
}

/// The payload, or `None` when the record is torn, of an unknown version or fails its checksum.
pub fn open(record: &[u8]) -> Option<&[u8]> {
    if record.len() < HEADER_BYTES || record[0] != RECORD_VERSION {
        return None;
    }
    let (sum, payload) = record[1..].split_at(CHECKSUM_BYTES);
    (blake3::hash(payload).as_bytes()[..CHECKSUM_BYTES] == *sum).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_records_open_and_any_flipped_bit_is_caught() {
        let payload = b"a case chunk".to_vec();
        let sealed = seal(&payload);
        assert_eq!(open(&sealed), Some(payload.as_slice()));
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[i] ^= 1 << bit;
                assert_eq!(open(&bad), None, "byte {i} bit {bit}");
            }
        }
        assert_eq!(open(&sealed[..sealed.len() - 1]), None);
        assert_eq!(open(&[]), None);
    }
}
