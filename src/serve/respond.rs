//! One request to one response: the Pwned Passwords range protocol, point
//! by point as the public API behaves.
//!
//! * `GET /range/{5 hex}` (either case): `SUFFIX:COUNT` lines sorted by
//!   suffix, CRLF, `text/plain`; `?mode=ntlm` for the NTLM corpus.
//! * A malformed prefix, an unknown mode, or a mode this server has no
//!   corpus for: 400 with a one-line body. Other paths: 404.
//! * `Add-Padding: true`: padded to the corpus-wide size ([`super::padding`]).
//! * gzip or brotli by `Accept-Encoding`; weak `ETag` and `Last-Modified`
//!   from the corpus's identity; `If-None-Match` / `If-Modified-Since` get
//!   304; `Vary: Accept-Encoding, Add-Padding`.
//! * A prefix the corpus has no data for: 503 with `Retry-After`, never an
//!   empty 200, so clients that fail closed report those accounts
//!   unchecked.
//! * `/healthz` and `/metrics`.

use super::corpora::{Corpora, Corpus};
use super::encoding::{self, Coding};
use super::metrics::{Answered, Metrics};
use super::padding;
use crate::hash::HashKind;
use crate::hibp::body::suffix_width;
use crate::store::PrefixLines;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};
use std::time::Instant;

/// How long clients may cache a range answer.
const CACHE_CONTROL: &str = "public, max-age=86400";
/// `Retry-After` of a prefix without data, seconds.
const RETRY_AFTER: &str = "3600";
const BAD_PREFIX: &str = "The hash prefix was not in a valid format";
const BAD_MODE: &str = "The mode must be sha1 or ntlm";

/// What the handler needs of a request.
pub struct Request<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
}

/// Everything a response is made from.
pub struct Server {
    pub corpora: Corpora,
    pub metrics: Metrics,
}

/// A response and what to record of it.
pub struct Answer {
    pub response: Response<Full<Bytes>>,
    pub answered: Answered,
    pub coding: Coding,
}

impl Server {
    pub fn respond(&self, req: &Request<'_>, started: Instant) -> Answer {
        let mut mode = 2; // none
        let mut padded = None;
        let mut coding = Coding::Identity;
        let response = if req.method != Method::GET && req.method != Method::HEAD {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        } else if let Some(prefix) = req.path.strip_prefix("/range/") {
            match range_mode(req.query) {
                Err(()) => text(StatusCode::BAD_REQUEST, BAD_MODE),
                Ok(kind) => {
                    mode = usize::from(kind == HashKind::Ntlm);
                    padded = Some(padding_asked(req.headers));
                    match (parse_prefix(prefix), self.corpora.get(kind)) {
                        (None, _) => text(StatusCode::BAD_REQUEST, BAD_PREFIX),
                        (Some(_), None) => text(
                            StatusCode::BAD_REQUEST,
                            match kind {
                                HashKind::Sha1 => "This server has no SHA-1 corpus",
                                HashKind::Ntlm => "This server has no NTLM corpus",
                            },
                        ),
                        (Some(prefix), Some(corpus)) => {
                            self.range(corpus, prefix, req, padded == Some(true), &mut coding)
                        }
                    }
                }
            }
        } else if req.path == "/healthz" {
            text(StatusCode::OK, "ok")
        } else if req.path == "/metrics" {
            let mut r = Response::new(Full::new(Bytes::from(self.metrics.render())));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            r
        } else {
            text(StatusCode::NOT_FOUND, "Not found")
        };
        let bytes = response_len(&response);
        Answer {
            answered: Answered {
                status: response.status().as_u16(),
                mode,
                bytes,
                took: started.elapsed(),
                padded,
            },
            response,
            coding,
        }
    }

    fn range(
        &self,
        corpus: &Corpus,
        prefix: u32,
        req: &Request<'_>,
        padded: bool,
        coding: &mut Coding,
    ) -> Response<Full<Bytes>> {
        if not_modified(corpus, req.headers) {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            validators(r.headers_mut(), corpus);
            return r;
        }
        let mut body = Vec::with_capacity(64 * 1024);
        let lines = match corpus.prefix_lines(prefix, &mut body) {
            Ok(PrefixLines::Lines(n)) => n,
            Ok(PrefixLines::Missing) => {
                let mut r = text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "This prefix is not in the server's corpus",
                );
                let h = r.headers_mut();
                h.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                return r;
            }
            // A damaged overflow table: a server error for this prefix,
            // never a wrong count.
            Err(_) => {
                let mut r = text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The server's corpus is damaged",
                );
                r.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                return r;
            }
        };
        if padded {
            body = padding::pad(
                &body,
                lines,
                corpus.max_prefix_entries,
                suffix_width(corpus.kind()),
            );
        }
        *coding = encoding::negotiate(
            req.headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok()),
        );
        let body = match *coding {
            Coding::Identity => body,
            c => encoding::encode(c, &body),
        };
        let mut r = Response::new(Full::new(Bytes::from(body)));
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        if let Some(name) = coding.header() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
        }
        validators(h, corpus);
        r
    }
}

/// The corpus a `mode` query asks for; `Err` for an unknown mode.
fn range_mode(query: Option<&str>) -> Result<HashKind, ()> {
    let mut kind = HashKind::Sha1;
    for pair in query.unwrap_or("").split('&') {
        if let Some(value) = pair.strip_prefix("mode=") {
            kind = match value.to_ascii_lowercase().as_str() {
                "sha1" => HashKind::Sha1,
                "ntlm" => HashKind::Ntlm,
                _ => return Err(()),
            };
        }
    }
    Ok(kind)
}

/// Exactly five hex digits, either case.
fn parse_prefix(text: &str) -> Option<u32> {
    (text.len() == 5 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(text, 16).ok())
        .flatten()
}

fn padding_asked(headers: &HeaderMap) -> bool {
    headers
        .get("add-padding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The headers every range answer (200 and 304) carries.
fn validators(h: &mut HeaderMap, corpus: &Corpus) {
    let value = |s: &str| HeaderValue::from_str(s).expect("ASCII header value");
    h.insert(header::ETAG, value(&corpus.etag));
    h.insert(header::LAST_MODIFIED, value(&corpus.last_modified));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Add-Padding"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// RFC 9110: `If-None-Match` (weak comparison, `*` matches) decides when
/// present; otherwise `If-Modified-Since` at or after `Last-Modified`.
fn not_modified(corpus: &Corpus, headers: &HeaderMap) -> bool {
    let weak = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let ours = weak(&corpus.etag);
        return inm
            .to_str()
            .is_ok_and(|v| v.split(',').any(|t| t.trim() == "*" || weak(t) == ours));
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| since >= corpus.modified)
}

fn text(status: StatusCode, line: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(line.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn response_len(r: &Response<Full<Bytes>>) -> u64 {
    use hyper::body::Body;
    r.body().size_hint().exact().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_modes_parse_like_the_public_api() {
        assert_eq!(parse_prefix("5BAA6"), Some(0x5BAA6));
        assert_eq!(parse_prefix("5baa6"), Some(0x5BAA6));
        for bad in ["5BAA", "5BAA61", "5BAAG", "", "+BAA6", " BAA6"] {
            assert_eq!(parse_prefix(bad), None, "{bad:?}");
        }
        assert_eq!(range_mode(None), Ok(HashKind::Sha1));
        assert_eq!(range_mode(Some("mode=ntlm")), Ok(HashKind::Ntlm));
        assert_eq!(range_mode(Some("x=1&mode=NTLM")), Ok(HashKind::Ntlm));
        assert_eq!(range_mode(Some("mode=sha1")), Ok(HashKind::Sha1));
        assert_eq!(range_mode(Some("mode=md5")), Err(()));
    }
}
