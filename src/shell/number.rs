//! The numbers commands take: decimal, `0x` hex (with `_` separators), or
//! a `K`/`M` suffix for KiB/MiB, all within 32 bits.

/// Why a number with valid digits is refused: it does not fit 32 bits.
pub const TOO_LARGE: &str = "number too large for 32 bits (at most 4294967295, 0xFFFFFFFF)";

/// Parse a number the way commands take them: `0x` hex, or decimal
/// (with optional `K`/`M` suffix for KiB/MiB). Digits that overflow 32
/// bits are "too large", not "not a number".
pub fn parse_number(s: &str) -> Result<u32, &'static str> {
    let s = s.trim();
    let (digits, scale) = match s.as_bytes().last() {
        Some(b'K' | b'k') if !s.starts_with("0x") => (&s[..s.len() - 1], 1024),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1024 * 1024),
        _ => (s, 1),
    };
    let value = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u32::from_str_radix(&hex.replace_underscores(), 16)
    } else {
        digits.parse::<u32>()
    }
    .map_err(|e| match e.kind() {
        core::num::IntErrorKind::PosOverflow => TOO_LARGE,
        _ => "not a number (use decimal, 0x hex, or a K/M suffix)",
    })?;
    value.checked_mul(scale).ok_or(TOO_LARGE)
}

/// `_` separators in hex numbers (`0xC000_0000`) are allowed.
trait ReplaceUnderscores {
    fn replace_underscores(&self) -> HexDigits;
}

/// Up to 8 hex digits without separators.
struct HexDigits {
    buf: [u8; 16],
    len: usize,
}

impl core::ops::Deref for HexDigits {
    type Target = str;
    fn deref(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("!")
    }
}

impl ReplaceUnderscores for str {
    fn replace_underscores(&self) -> HexDigits {
        let mut d = HexDigits {
            buf: [0; 16],
            len: 0,
        };
        for b in self.bytes().filter(|&b| b != b'_') {
            if d.len == d.buf.len() {
                d.buf[0] = b'!'; // too long: make it fail to parse
                break;
            }
            d.buf[d.len] = b;
            d.len += 1;
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("4096"), Ok(4096));
        assert_eq!(parse_number("0x1000"), Ok(4096));
        assert_eq!(parse_number("0xC000_0000"), Ok(0xC000_0000));
        assert_eq!(parse_number("4K"), Ok(4096));
        assert_eq!(parse_number("2M"), Ok(2 << 20));
        assert_eq!(parse_number("0x1_0000_0000"), Err(TOO_LARGE));
        assert_eq!(parse_number("5000M"), Err(TOO_LARGE));
        assert_eq!(parse_number("99999999999"), Err(TOO_LARGE));
        assert!(
            parse_number("twelve")
                .unwrap_err()
                .starts_with("not a number")
        );
        assert!(parse_number("-1").unwrap_err().starts_with("not a number"));
        assert!(parse_number("").is_err());
    }
}
