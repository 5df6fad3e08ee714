//! Content coding of range bodies: gzip or brotli, chosen from the
//! client's `Accept-Encoding`.
//!
//! Bodies are hex digits and counts, so nearly all of the gain is entropy
//! coding: gzip is a literals-only Huffman block ([`super::gzip`]), and
//! brotli runs at a low quality with a window no larger than the body.
//! Each body is compressed fresh (padded bodies must be). Between codings
//! a client rates equally, gzip wins: it is much cheaper to produce.

/// A response's content coding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    /// The `Content-Encoding` value, if any.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Brotli => Some("br"),
        }
    }

    /// The name in metrics and the access log.
    pub fn label(self) -> &'static str {
        self.header().unwrap_or("identity")
    }
}

/// The coding to answer an `Accept-Encoding` value with: the highest rated
/// of gzip and br (`q` weights; `*` rates both), gzip on a tie, identity
/// when neither is acceptable.
pub fn negotiate(accept: Option<&str>) -> Coding {
    let Some(accept) = accept else {
        return Coding::Identity;
    };
    let (mut gzip, mut br, mut any) = (None, None, None);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(q),
            "br" => br = Some(q),
            "*" => any = Some(q),
            _ => {}
        }
    }
    let gzip = gzip.or(any).unwrap_or(0.0);
    let br = br.or(any).unwrap_or(0.0);
    if gzip > 0.0 && gzip >= br {
        Coding::Gzip
    } else if br > 0.0 {
        Coding::Brotli
    } else {
        Coding::Identity
    }
}

/// `body` in `coding`.
pub fn encode(coding: Coding, body: &[u8]) -> Vec<u8> {
    match coding {
        Coding::Identity => body.to_vec(),
        Coding::Gzip => super::gzip::gzip(body),
        Coding::Brotli => {
            // The window need not exceed the body; a small one keeps the
            // encoder's per-response tables small.
            let lgwin = (usize::BITS - body.len().leading_zeros()).clamp(10, 22) as i32;
            let params = brotli::enc::BrotliEncoderParams {
                quality: 2,
                lgwin,
                ..Default::default()
            };
            let mut out = Vec::with_capacity(body.len() / 2 + 64);
            brotli::BrotliCompress(&mut &body[..], &mut out, &params).expect("writing to memory");
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn negotiation_follows_the_weights() {
        assert_eq!(negotiate(None), Coding::Identity);
        assert_eq!(negotiate(Some("gzip, deflate, br")), Coding::Gzip);
        assert_eq!(negotiate(Some("br")), Coding::Brotli);
        assert_eq!(negotiate(Some("gzip;q=0.5, br;q=0.9")), Coding::Brotli);
        assert_eq!(negotiate(Some("gzip;q=0, br;q=0")), Coding::Identity);
        assert_eq!(negotiate(Some("identity")), Coding::Identity);
        assert_eq!(negotiate(Some("*")), Coding::Gzip);
        assert_eq!(negotiate(Some("*;q=0.1, gzip;q=0")), Coding::Brotli);
        assert_eq!(negotiate(Some("GZIP")), Coding::Gzip);
    }

    #[test]
    fn gzip_and_brotli_decode_to_the_body() {
        let body = b"1E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\r\n".repeat(50);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&encode(Coding::Gzip, &body)[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
        let mut back = Vec::new();
        brotli::Decompressor::new(&encode(Coding::Brotli, &body)[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
    }
}
