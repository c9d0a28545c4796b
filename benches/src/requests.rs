//! Realistic benchmark traffic: what a browser and an API client send, and a small HTML
//! answer. Bodies are built deterministically to an exact size, so runs compare.

use std::fmt::Write as _;

use crate::http::{HttpRequest, HttpResponse};
use meshward_testkit::http1::Headers;

/// Host every request is addressed to.
pub const HOST: &str = "shop.example.com";

/// Size of the [`urlencoded_post`] body the engine bench uses.
pub const URLENCODED_LEN: usize = 2 * 1024;
/// Size of the [`json_post`] body the engine bench uses.
pub const JSON_LEN: usize = 16 * 1024;
/// Size of the [`multipart_upload`] body the engine bench uses.
pub const MULTIPART_LEN: usize = 64 * 1024;

/// Boundary of [`multipart_upload`], in Chrome's style.
pub const MULTIPART_BOUNDARY: &str = "----WebKitFormBoundaryq7XbTz3kLm9P2vWd";

const USER_AGENT: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

const COOKIE: &str = "session_id=9f2c4e1a7b3d4c8e9a0b1c2d3e4f5a6b; _ga=GA1.1.1234567890.1732600000; \
     _ga_ABCDEF1234=GS1.1.1732600000.3.1.1732600500.0.0.0; cart_items=3; theme=dark; lang=en-US";

/// Benign prose used to fill text fields (plain sentences, as customers write them).
const SENTENCES: &[&str] = &[
    "Please deliver the parcel to the side entrance of the building",
    "The blue jacket fits well but the sleeves are a little too long",
    "We would like to book a table for four people next Friday evening",
    "Thank you for the quick reply and the helpful advice about sizing",
    "Could you send a replacement for the damaged lamp in my last parcel",
    "The invoice number is printed at the top of the confirmation email",
    "My neighbour can accept the delivery if nobody is at home",
    "The shoes arrived on time and the quality is excellent",
];

/// `n` bytes of benign prose built from [`SENTENCES`], spaces included.
fn prose(n: usize) -> String {
    let mut out = String::with_capacity(n + 80);
    let mut i = 0;
    while out.len() < n {
        if !out.is_empty() {
            out.push_str(". ");
        }
        out.push_str(SENTENCES[i % SENTENCES.len()]);
        i += 1;
    }
    out.truncate(n);
    // Never end on a blank, which some forms would trim.
    if out.ends_with(' ') {
        out.pop();
        out.push('s');
    }
    out
}

/// Navigation headers Chrome 131 on Windows sends, in its order, after `Host`.
fn chrome_headers(fetch_site: &str, referer: &str) -> Vec<(String, String)> {
    [
        ("Host", HOST),
        ("Connection", "keep-alive"),
        (
            "sec-ch-ua",
            "\"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"",
        ),
        ("sec-ch-ua-mobile", "?0"),
        ("sec-ch-ua-platform", "\"Windows\""),
        ("Upgrade-Insecure-Requests", "1"),
        ("User-Agent", USER_AGENT),
        (
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,\
             application/signed-exchange;v=b3;q=0.7",
        ),
        ("Sec-Fetch-Site", fetch_site),
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-User", "?1"),
        ("Sec-Fetch-Dest", "document"),
        ("Referer", referer),
        ("Accept-Encoding", "gzip, deflate, br, zstd"),
        ("Accept-Language", "en-US,en;q=0.9,de;q=0.8"),
        ("Cookie", COOKIE),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A POST from a Chrome page: its headers, then `Content-Type` and `Content-Length`.
fn chrome_post(uri: &str, content_type: &str, body: Vec<u8>) -> HttpRequest {
    request("POST", uri, chrome_post_headers(uri, content_type, body.len()), body)
}

/// The headers of [`chrome_post`], to adjust before building the request.
fn chrome_post_headers(uri: &str, content_type: &str, body_len: usize) -> Vec<(String, String)> {
    let mut headers = chrome_headers("same-origin", &format!("https://{HOST}{uri}"));
    headers.insert(2, ("Content-Length".into(), body_len.to_string()));
    headers.push(("Origin".into(), format!("https://{HOST}")));
    headers.push(("Content-Type".into(), content_type.to_string()));
    headers
}

/// An HTTP/1.1 request with these headers, in order, and body.
fn request(method: &str, uri: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> HttpRequest {
    HttpRequest {
        headers: Headers::from_pairs(headers),
        body,
        ..HttpRequest::new(method, uri)
    }
}

/// (a) A browser navigation: Chrome's headers, session and analytics cookies, a search
/// query string.
pub fn browser_get() -> HttpRequest {
    search_get("trail+running+shoes")
}

/// (a) with an SQL injection in the search box, to measure the matching path (CRS blocks it
/// at PL1 through libinjection and the anomaly score).
pub fn browser_get_attack() -> HttpRequest {
    search_get("1%27+UNION+SELECT+username%2C+password+FROM+users--+-")
}

fn search_get(q: &str) -> HttpRequest {
    let uri = format!("/shop/search?q={q}&category=footwear&size=42&sort=price_asc&page=2");
    let headers = chrome_headers(
        "same-origin",
        &format!("https://{HOST}/shop/search?q=running+shoes&category=footwear"),
    );
    request("GET", &uri, headers, Vec::new())
}

/// Form-encodes a value (`application/x-www-form-urlencoded`: space as `+`).
fn form_encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

/// (b) A checkout form posted by a browser, `body_len` bytes exactly (the `message` field
/// absorbs the difference; at least ~600 bytes are needed for the other fields).
pub fn urlencoded_post(body_len: usize) -> HttpRequest {
    let fields = [
        ("first_name", "Jane"),
        ("last_name", "Doe"),
        ("email", "jane.doe@example.com"),
        ("phone", "+49 30 1234567"),
        ("company", "Example Trading GmbH"),
        ("street", "Friedrichstrasse 123"),
        ("city", "Berlin"),
        ("postal_code", "10117"),
        ("country", "DE"),
        ("shipping_method", "express"),
        ("gift_wrap", "0"),
        ("newsletter", "1"),
        ("coupon", "WINTER2026"),
        (
            "csrf_token",
            "b5c0a7e2f41d4f3b9c6e8a1d2f3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d",
        ),
    ];
    let mut body = String::with_capacity(body_len);
    for (k, v) in fields {
        body.push_str(k);
        body.push('=');
        form_encode(v, &mut body);
        body.push('&');
    }
    body.push_str("message=");
    let room = body_len.saturating_sub(body.len());
    // Prose only has letters, spaces (`+`) and dots: encoded, it keeps its length.
    form_encode(&prose(room), &mut body);
    chrome_post("/shop/checkout", "application/x-www-form-urlencoded", body.into_bytes())
}

/// (c) An API client posting an order as JSON (nested objects and arrays), `body_len` bytes
/// exactly (the `notes` string absorbs the difference; at least ~1.5 KB).
pub fn json_post(body_len: usize) -> HttpRequest {
    let mut body = String::with_capacity(body_len);
    body.push_str(
        r#"{"order":{"id":"ORD-2026-000123","created":"2026-11-26T18:00:00Z","currency":"EUR","channel":"web","customer":{"id":4711,"name":{"first":"Jane","last":"Doe"},"email":"jane.doe@example.com","loyalty":{"tier":"gold","points":1520},"addresses":[{"type":"billing","street":"Friedrichstrasse 123","city":"Berlin","postal_code":"10117","country":"DE"},{"type":"shipping","street":"Chausseestrasse 8","city":"Berlin","postal_code":"10115","country":"DE","instructions":"Side entrance"}]},"items":["#,
    );
    const COLORS: &[&str] = &["blue", "black", "green", "grey", "red"];
    const SIZES: &[&str] = &["S", "M", "L", "XL"];
    const TITLES: &[&str] = &[
        "Trail running shoe",
        "Rain jacket",
        "Merino base layer",
        "Hiking sock pack",
        "Day backpack",
    ];
    // Room for the trailer below with an empty `notes` string.
    let tail_len = r#"],"payment":{"method":"card","card":{"brand":"visa","last4":"4242","expiry":"12/28"},"amount":0.00},"notes":""}}"#.len() + 12;
    let mut i = 0usize;
    loop {
        let mut item = String::new();
        let _ = write!(
            item,
            r#"{}{{"sku":"SKU-{:06}","title":"{}","quantity":{},"unit_price":{}.{:02},"attributes":{{"color":"{}","size":"{}","tags":["outdoor","{}","season-{}"]}},"discounts":[{{"code":"WELCOME10","amount":{}.{:02}}}],"warehouse":{{"id":{},"bin":"A-{:03}"}}}}"#,
            if i == 0 { "" } else { "," },
            100_000 + i * 37,
            TITLES[i % TITLES.len()],
            1 + i % 3,
            20 + (i * 7) % 80,
            (i * 13) % 100,
            COLORS[i % COLORS.len()],
            SIZES[i % SIZES.len()],
            COLORS[(i + 2) % COLORS.len()],
            2026 + i % 2,
            1 + i % 5,
            (i * 11) % 100,
            1 + i % 4,
            i % 500,
        );
        if body.len() + item.len() + tail_len + 200 > body_len {
            break;
        }
        body.push_str(&item);
        i += 1;
    }
    let total = format!("{}.{:02}", 60 * i.max(1), (i * 17) % 100);
    let _ = write!(
        body,
        r#"],"payment":{{"method":"card","card":{{"brand":"visa","last4":"4242","expiry":"12/28"}},"amount":{total}}},"notes":""#
    );
    let room = body_len.saturating_sub(body.len() + 3);
    body.push_str(&prose(room));
    body.push_str("\"}}");
    let uri = "/api/v1/orders";
    let mut headers = chrome_post_headers(uri, "application/json", body.len());
    // An API call from page script, not a navigation.
    set_header(&mut headers, "Accept", "application/json");
    set_header(&mut headers, "Sec-Fetch-Mode", "cors");
    set_header(&mut headers, "Sec-Fetch-Dest", "empty");
    headers.retain(|(k, _)| k != "Sec-Fetch-User" && k != "Upgrade-Insecure-Requests");
    request("POST", uri, headers, body.into_bytes())
}

/// Replaces the value of header `name` where it stands.
fn set_header(headers: &mut [(String, String)], name: &str, value: &str) {
    if let Some(h) = headers.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
        h.1 = value.to_string();
    }
}

/// (d) A browser form upload: three text fields and one CSV file, `body_len` bytes exactly
/// (the file absorbs the difference; at least ~1 KB).
pub fn multipart_upload(body_len: usize) -> HttpRequest {
    let b = MULTIPART_BOUNDARY;
    let mut body = String::with_capacity(body_len);
    for (name, value) in [
        ("title", "Quarterly inventory report"),
        (
            "description",
            "Stock levels per warehouse at the end of the quarter, as exported from the stock system",
        ),
        ("visibility", "team"),
    ] {
        let _ = write!(
            body,
            "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
    }
    let _ = write!(
        body,
        "--{b}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"inventory-2026-q4.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    );
    let closing = format!("\r\n--{b}--\r\n");
    let file_len = body_len.saturating_sub(body.len() + closing.len());
    body.push_str(&csv_file(file_len));
    body.push_str(&closing);
    chrome_post(
        "/files/upload",
        &format!("multipart/form-data; boundary={b}"),
        body.into_bytes(),
    )
}

/// A CSV export of `len` bytes exactly: a header line, then stock rows.
fn csv_file(len: usize) -> String {
    const NAMES: &[&str] = &[
        "Trail running shoe",
        "Rain jacket",
        "Merino base layer",
        "Hiking sock pack",
        "Day backpack",
    ];
    const PLACES: &[&str] = &["Berlin", "Hamburg", "Munich", "Leipzig"];
    let mut out = String::with_capacity(len);
    out.push_str("sku,name,warehouse,quantity,unit_price\n");
    let mut i = 0usize;
    loop {
        let row = format!(
            "SKU-{:06},{},{},{},{}.{:02}\n",
            100_000 + i * 37,
            NAMES[i % NAMES.len()],
            PLACES[i % PLACES.len()],
            (i * 29) % 900,
            20 + (i * 7) % 80,
            (i * 13) % 100
        );
        if out.len() + row.len() > len {
            break;
        }
        out.push_str(&row);
        i += 1;
    }
    // Fill the remainder with a last, partial quantity column of zeros (still plain CSV text).
    while out.len() < len {
        out.push('0');
    }
    out.truncate(len);
    out
}

/// The upstream answer every benchmark uses: `200` with a small HTML page (~1 KB).
pub fn html_response() -> HttpResponse {
    let mut body = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Search results - Example Shop</title>\n\
         <link rel=\"stylesheet\" href=\"/static/site.css\">\n</head>\n<body>\n<header><a href=\"/\">Example Shop</a></header>\n\
         <main>\n<h1>Trail running shoes</h1>\n<ul class=\"results\">\n",
    );
    for i in 0..8 {
        let _ = writeln!(
            body,
            "<li><a href=\"/shop/item/{0}\">Trail running shoe model {0}</a> <span class=\"price\">{1}.90 EUR</span></li>",
            1000 + i,
            79 + i * 5
        );
    }
    body.push_str("</ul>\n</main>\n<footer>Example Shop GmbH</footer>\n</body>\n</html>\n");
    let headers = [
        ("Date", "Thu, 26 Nov 2026 18:00:00 GMT"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "private, max-age=0"),
        ("X-Content-Type-Options", "nosniff"),
    ];
    let mut response = HttpResponse::new(200);
    response.headers = Headers::from_pairs(headers);
    response.headers.add("Content-Length", body.len().to_string());
    response.body = body.into_bytes();
    response
}

/// The named benchmark requests: the four benign kinds, then the attack variant of (a).
pub fn bench_requests() -> Vec<(&'static str, HttpRequest)> {
    vec![
        ("a_browser_get", browser_get()),
        ("b_urlencoded_post_2k", urlencoded_post(URLENCODED_LEN)),
        ("c_json_post_16k", json_post(JSON_LEN)),
        ("d_multipart_upload_64k", multipart_upload(MULTIPART_LEN)),
        ("a_browser_get_sqli", browser_get_attack()),
    ]
}
