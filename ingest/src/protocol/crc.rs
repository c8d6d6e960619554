//! The two CRCs the binary protocols use, from the `crc` crate's catalog.

use crc::{CRC_16_ARC, CRC_16_IBM_SDLC, Crc};

const ARC: Crc<u16> = Crc::<u16>::new(&CRC_16_ARC);
const X25: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_SDLC);

/// CRC-16/ARC, which Teltonika calls "CRC-16/IBM" (poly 0x8005 reflected, init 0).
pub fn crc16_ibm(data: &[u8]) -> u16 {
    ARC.checksum(data)
}

/// CRC-16/X-25, which GT06 calls "CRC-ITU" (poly 0x1021 reflected, init and xorout 0xFFFF).
pub fn crc16_x25(data: &[u8]) -> u16 {
    X25.checksum(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_check_values() {
        assert_eq!(crc16_ibm(b"123456789"), 0xBB3D);
        assert_eq!(crc16_x25(b"123456789"), 0x906E);
    }
}
