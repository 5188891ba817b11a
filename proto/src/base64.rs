//! Standard base64 with padding, the way Go's `encoding/json` writes `[]byte`: BuildKit's
//! JSON error details and buildx's `input-metadata` carry bytes this way. The `base64`
//! crate does the work; this module fixes the one engine that matches Go.

use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// Go's `base64.StdEncoding` as `encoding/json` uses it: writes padding; reads padded or
/// unpadded input and, not being `Strict`, accepts non-zero trailing bits.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Encodes with padding.
pub fn encode(data: &[u8]) -> String {
    GO_STD.encode(data)
}

/// Decodes padded or unpadded input; `None` for anything that is not base64.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    GO_STD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn round_trips_and_rejects_garbage() {
        for (raw, enc) in [
            (&b""[..], ""),
            (b"hi", "aGk="),
            (b"abc", "YWJj"),
            (b"hello", "aGVsbG8="),
        ] {
            assert_eq!(encode(raw), enc);
            assert_eq!(decode(enc).as_deref(), Some(raw));
        }
        // Unpadded input, as the hand-written decoder accepted it.
        assert_eq!(decode("aGk").as_deref(), Some(&b"hi"[..]));
        assert!(decode("a").is_none());
        assert!(decode("a*==").is_none());
    }
}
