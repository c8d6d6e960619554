//! Splitting one Omni frame into header, vendor, IMEI, optional time, type and params.

use crate::protocol::DecodeError;

/// One parsed Omni message (device or server frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `SCOR` (device) / `SCOS` (server); also `HBCR`, `CMDR`, `CMDS`.
    pub header: String,
    /// Vendor code, usually `OM`.
    pub vendor: String,
    /// Device IMEI.
    pub imei: String,
    /// Optional `yyMMddhhmmss` time field some variants carry after the IMEI.
    pub time: Option<String>,
    /// Message type (`Q0`, `D0`, `R0` …).
    pub msg_type: String,
    /// Fields after the type.
    pub params: Vec<String>,
}

impl Message {
    /// Whether the frame was sent by a device (`…R` header) rather than a server.
    pub fn is_from_device(&self) -> bool {
        self.header.ends_with('R')
    }

    /// Parameter `i`, or an error naming `field`.
    pub(crate) fn param(&self, i: usize, field: &'static str) -> Result<&str, DecodeError> {
        self.params
            .get(i)
            .map(String::as_str)
            .ok_or(DecodeError::invalid(field, "missing"))
    }
}

/// Parses a `*…#` frame (leading `0xFF`, trailing CR/LF tolerated).
pub fn parse_message(raw: &[u8]) -> Result<Message, DecodeError> {
    let start = raw.iter().take_while(|&&b| b == 0xFF).count();
    let trimmed = raw.get(start..).unwrap_or_default();
    let trimmed = trimmed.trim_ascii_end();
    let inner = trimmed
        .strip_prefix(b"*")
        .and_then(|t| t.strip_suffix(b"#"))
        .ok_or(DecodeError::Malformed("omni frame must be '*…#'"))?;
    if inner
        .iter()
        .any(|&b| !(0x20..=0x7E).contains(&b) || b == b'*' || b == b'#')
    {
        return Err(DecodeError::Malformed("omni frame holds a forbidden byte"));
    }
    let text = String::from_utf8_lossy(inner);
    let mut fields = text.split(',').map(str::to_owned);
    let mut next = |name: &'static str| fields.next().ok_or(DecodeError::invalid(name, "missing"));
    let header = next("header")?;
    let vendor = next("vendor")?;
    let imei = next("imei")?;
    let mut msg_type = next("type")?;
    let mut time = None;
    if msg_type.len() == 12 && msg_type.bytes().all(|b| b.is_ascii_digit()) {
        time = Some(msg_type);
        msg_type = next("type")?;
    }
    let params = fields.collect();
    check_ident("header", &header, 4)?;
    check_ident("vendor", &vendor, 4)?;
    check_ident("type", &msg_type, 4)?;
    if imei.is_empty() || imei.len() > 20 || !imei.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::invalid("imei", imei));
    }
    Ok(Message {
        header,
        vendor,
        imei,
        time,
        msg_type,
        params,
    })
}

fn check_ident(field: &'static str, value: &str, max: usize) -> Result<(), DecodeError> {
    if value.is_empty() || value.len() > max || !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(DecodeError::invalid(field, value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_time() {
        let m = parse_message(b"*SCOR,OM,123456789123456,Q0,412,80,28#\n").unwrap();
        assert_eq!(
            (m.msg_type.as_str(), m.params.len(), m.time),
            ("Q0", 3, None)
        );
        let m =
            parse_message(b"*CMDR,OM,863725031194523,000000000000,L0,0,1234,1497689816#").unwrap();
        assert_eq!(m.time.as_deref(), Some("000000000000"));
        assert_eq!(m.msg_type, "L0");
        let records = crate::protocol::omni::decode_records(b"*CMDR,OM,1,000000000000,L0,0,7,9#");
        assert_eq!(records.unwrap()[0].device_time_ms, Some(9000));
        assert!(parse_message(b"*SCOR,OM,12a,Q0#").is_err());
        assert!(parse_message(b"SCOR,OM,1,Q0#").is_err());
    }
}
