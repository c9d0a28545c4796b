//! The six workloads: the criterion benches' requests ([`crate::requests`]) sent over HTTP/1.1,
//! and one gRPC unary call over h2c.

use meshward_testkit::http1::Frame;

use crate::requests::{self, HOST};

/// gRPC method every unary call invokes (the upstream answers any path on its h2c port).
pub const GRPC_PATH: &str = "/shop.catalog.v1.Catalog/Search";

/// One kind of request the load client repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Chrome navigation with cookies and a query string.
    BrowserGet,
    /// 2 KB `application/x-www-form-urlencoded` checkout form.
    FormPost2k,
    /// 16 KB JSON order (hundreds of fields).
    JsonPost16k,
    /// 64 KB `multipart/form-data` upload.
    Multipart64k,
    /// The browser GET with an SQL injection in the search term.
    SqliGet,
    /// A gRPC unary call over h2c (prior knowledge).
    GrpcUnary,
}

impl Workload {
    /// Every workload, in table order.
    pub const ALL: [Workload; 6] = [
        Workload::BrowserGet,
        Workload::FormPost2k,
        Workload::JsonPost16k,
        Workload::Multipart64k,
        Workload::SqliGet,
        Workload::GrpcUnary,
    ];

    /// Name in tables and the chart.
    pub fn label(self) -> &'static str {
        match self {
            Workload::BrowserGet => "GET (browser)",
            Workload::FormPost2k => "POST 2 KB form",
            Workload::JsonPost16k => "POST 16 KB JSON",
            Workload::Multipart64k => "POST 64 KB multipart",
            Workload::SqliGet => "GET with SQLi",
            Workload::GrpcUnary => "gRPC unary (h2c)",
        }
    }

    /// True for the request a WAF in enforce mode must refuse.
    pub fn is_attack(self) -> bool {
        self == Workload::SqliGet
    }

    /// What the client sends.
    pub fn request(self) -> Request {
        let http1 = |r: crate::HttpRequest| Request::Http1(r.to_bytes(Frame::Length));
        match self {
            Workload::BrowserGet => http1(requests::browser_get()),
            Workload::FormPost2k => http1(requests::urlencoded_post(requests::URLENCODED_LEN)),
            Workload::JsonPost16k => http1(requests::json_post(requests::JSON_LEN)),
            Workload::Multipart64k => http1(requests::multipart_upload(requests::MULTIPART_LEN)),
            Workload::SqliGet => http1(requests::browser_get_attack()),
            Workload::GrpcUnary => Request::Grpc(grpc_frame(&search_message())),
        }
    }
}

/// The bytes of one request.
#[derive(Clone, Debug)]
pub enum Request {
    /// A whole HTTP/1.1 request (keep-alive), sent as is.
    Http1(Vec<u8>),
    /// One length-prefixed gRPC message, the body of a unary call to [`GRPC_PATH`].
    Grpc(Vec<u8>),
}

/// Headers of the gRPC call besides the pseudo-headers.
pub fn grpc_headers() -> [(&'static str, &'static str); 4] {
    [
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("user-agent", "grpc-rust/0.14 (load)"),
        ("grpc-timeout", "5S"),
    ]
}

/// Authority of the gRPC call (the HTTP/1.1 requests carry the same `Host`).
pub fn grpc_authority() -> &'static str {
    HOST
}

/// A protobuf `SearchRequest { query = 1; category = 2; page = 3; page_size = 4 }`.
pub fn search_message() -> Vec<u8> {
    let mut m = Vec::new();
    for (field, text) in [(1u8, "trail running shoes"), (2, "footwear")] {
        m.push(field << 3 | 2);
        m.push(text.len() as u8);
        m.extend_from_slice(text.as_bytes());
    }
    m.extend_from_slice(&[3 << 3, 2, 4 << 3, 24]);
    m
}

/// A gRPC message frame: uncompressed flag, 4-byte big-endian length, the message.
pub fn grpc_frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 5);
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_workloads_are_whole_requests_of_the_bench_sizes() {
        for (w, len) in [
            (Workload::FormPost2k, 2048),
            (Workload::JsonPost16k, 16384),
            (Workload::Multipart64k, 65536),
        ] {
            let Request::Http1(bytes) = w.request() else {
                panic!("{w:?} is HTTP/1.1")
            };
            let (request, used) = meshward_testkit::http1::parse_request(&bytes).unwrap();
            assert_eq!((request.body.len(), used), (len, bytes.len()), "{w:?}");
        }
        let Request::Http1(get) = Workload::SqliGet.request() else {
            panic!("HTTP/1.1")
        };
        assert!(String::from_utf8_lossy(&get).contains("UNION+SELECT"));
    }

    #[test]
    fn grpc_frame_prefixes_the_length() {
        let m = search_message();
        let f = grpc_frame(&m);
        assert_eq!(f[0], 0);
        assert_eq!(u32::from_be_bytes([f[1], f[2], f[3], f[4]]) as usize, m.len());
        assert_eq!(&f[5..], &m[..]);
        // query, category, page, page_size
        assert_eq!(m.len(), 2 + 19 + 2 + 8 + 4);
        assert!(matches!(Workload::GrpcUnary.request(), Request::Grpc(b) if b == f));
    }

    #[test]
    fn only_the_sqli_get_is_an_attack() {
        assert_eq!(Workload::ALL.iter().filter(|w| w.is_attack()).count(), 1);
        assert!(Workload::SqliGet.is_attack());
    }
}
