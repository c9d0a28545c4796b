//! The behaviour scenario's pieces: a small shop app for the upstream, a generated normal
//! workload (clients with their own address and user, each about one request a second over a
//! few favourite pages), and third-party tools run as attackers (Debian's ffuf, gobuster,
//! hydra, wget and siege), each from its own client address.
//!
//! Client addresses travel in `X-Forwarded-For`, read by the policy filter with
//! `trusted_proxy_hops: 1`, as behind an ingress: every process here connects from 127.0.0.1.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use meshward_envoy::{client, RecordedRequest, Request, UpstreamResponse};

/// Catalog pages the crawler can reach from `/` (each links the next and ten products).
pub const CATALOG_PAGES: u32 = 30;
/// Product ids the app knows.
pub const PRODUCTS: u32 = 999;
/// The password of account `user`: the app accepts `user<digits>` with this (none of the
/// wordlists' pairs).
pub fn password_of(user: &str) -> String {
    format!("{user}-correct-horse")
}

/// The shop: HTML catalog pages, JSON products and cart, Basic-auth `/login`; 404 for the rest.
pub fn shop(request: &RecordedRequest) -> Option<UpstreamResponse> {
    let path = request.target.split('?').next().unwrap_or("");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let json = |status: u16, body: String| {
        let mut r = UpstreamResponse::new(status).header("content-type", "application/json");
        r.body = body.into_bytes();
        r
    };
    let html = |body: String| UpstreamResponse::ok(body).header("content-type", "text/html");
    let product = |s: &str| s.parse::<u32>().ok().filter(|id| (1..=PRODUCTS).contains(id));
    let response = match (request.method.as_str(), segments.as_slice()) {
        ("GET", [""]) => html(catalog_page(0)),
        ("GET", ["catalog", n]) => match n.parse::<u32>() {
            Ok(n) if (1..=CATALOG_PAGES).contains(&n) => html(catalog_page(n)),
            _ => not_found(),
        },
        ("GET", ["products"]) => json(200, "[{\"id\":1},{\"id\":2},{\"id\":3}]".into()),
        ("GET", ["products", id]) => match product(id) {
            Some(id) => json(
                200,
                format!("{{\"id\":{id},\"name\":\"product {id}\",\"price\":{}}}", id * 3),
            ),
            None => not_found(),
        },
        ("GET", ["products", id, "reviews"]) => match product(id) {
            Some(id) => json(200, format!("[{{\"product\":{id},\"stars\":4}}]")),
            None => not_found(),
        },
        ("GET", ["cart"]) => json(200, "{\"items\":[]}".into()),
        ("POST", ["cart", "items"]) => json(201, "{\"added\":true}".into()),
        ("GET", ["health"]) => UpstreamResponse::ok("ok").header("content-type", "text/plain"),
        ("GET", ["login"]) => login(request),
        _ => not_found(),
    };
    Some(response)
}

fn not_found() -> UpstreamResponse {
    let mut r = UpstreamResponse::new(404).header("content-type", "text/plain");
    r.body = b"not found\n".to_vec();
    r
}

/// `/login` with HTTP Basic: 200 for an account with its password, else 401 with a challenge.
fn login(request: &RecordedRequest) -> UpstreamResponse {
    let credentials = request
        .header("authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(b).ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    let valid = credentials
        .as_deref()
        .and_then(|c| c.split_once(':'))
        .is_some_and(|(user, password)| {
            let account = user
                .strip_prefix("user")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            account && password == password_of(user)
        });
    if valid {
        return UpstreamResponse::ok("welcome\n").header("content-type", "text/plain");
    }
    let mut r = UpstreamResponse::new(401)
        .header("content-type", "text/plain")
        .header("www-authenticate", "Basic realm=\"shop\"");
    r.body = b"unauthorized\n".to_vec();
    r
}

/// Page `n` of the catalog (0 is the home page): links to the next page and ten products.
fn catalog_page(n: u32) -> String {
    let mut links = String::new();
    if n < CATALOG_PAGES {
        links.push_str(&format!("<a href=\"/catalog/{}\">next</a>\n", n + 1));
    }
    for i in 0..10 {
        let id = n * 10 + i + 1;
        links.push_str(&format!("<a href=\"/products/{id}\">product {id}</a>\n"));
    }
    format!("<html><body><h1>catalog {n}</h1>\n{links}</body></html>\n")
}

/// Standard base64 (RFC 4648) of `text`, for the Basic credentials.
pub fn base64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A deterministic generator (splitmix64): every run sends the same workload.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One ordinary client: its address, its user and its favourite products.
#[derive(Clone, Debug)]
pub struct Client {
    /// Sent as `X-Forwarded-For`.
    pub ip: String,
    /// Sent as `x-user`.
    pub user: String,
    favourites: Vec<u32>,
}

impl Client {
    /// A client from `ip` as `user`, with favourites drawn from `rng`.
    pub fn new(ip: &str, user: &str, rng: &mut Rng) -> Client {
        Client {
            ip: ip.to_owned(),
            user: user.to_owned(),
            favourites: (0..12).map(|_| 1 + rng.below(u64::from(PRODUCTS)) as u32).collect(),
        }
    }

    /// The next request of an ordinary visit: product pages and reviews among the favourites,
    /// the product list, the cart, now and then a login to its own account (the first one
    /// mistyped).
    pub fn next_request(&self, rng: &mut Rng, logins: &mut u32) -> Request {
        let fav = self.favourites[rng.below(self.favourites.len() as u64) as usize];
        let request = match rng.below(100) {
            0..=19 => Request::get("/products"),
            20..=59 => Request::get(&format!("/products/{fav}")),
            60..=74 => Request::get(&format!("/products/{fav}/reviews")),
            75..=89 => Request::get("/cart"),
            90..=94 => Request::post("/cart/items", format!("{{\"product\":{fav}}}"))
                .header("content-type", "application/json"),
            _ => {
                *logins += 1;
                let password = if *logins == 1 {
                    "correct-horse"
                } else {
                    &password_of(&self.user)
                };
                let credentials = base64(&format!("{}:{password}", self.user));
                Request::get("/login").header("authorization", &format!("Basic {credentials}"))
            }
        };
        request.header("x-forwarded-for", &self.ip).header("x-user", &self.user)
    }
}

/// The routes a service-to-service caller of the shop uses (method, template).
pub const SERVICE_ROUTES: [(&str, &str); 5] = [
    ("GET", "/products"),
    ("GET", "/products/{*}"),
    ("GET", "/products/{*}/reviews"),
    ("GET", "/cart"),
    ("POST", "/cart/items"),
];

/// A call of another service to the shop on one of [`SERVICE_ROUTES`], to `host`.
pub fn service_call(rng: &mut Rng, host: &str) -> Request {
    let id = 1 + rng.below(u64::from(PRODUCTS));
    let request = match rng.below(100) {
        0..=14 => Request::get("/products"),
        15..=59 => Request::get(&format!("/products/{id}")),
        60..=79 => Request::get(&format!("/products/{id}/reviews")),
        80..=89 => Request::get("/cart"),
        _ => Request::post("/cart/items", format!("{{\"product\":{id}}}")).header("content-type", "application/json"),
    };
    request.header("host", host)
}

/// The normal workload: one thread per client, about one request a second each, until stopped.
pub struct Workload {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl Workload {
    /// Starts `clients` against `addr`.
    pub fn start(addr: std::net::SocketAddr, clients: Vec<Client>, seed: u64) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let threads = clients
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let (stop, sent, failed) = (Arc::clone(&stop), Arc::clone(&sent), Arc::clone(&failed));
                std::thread::spawn(move || {
                    let mut rng = Rng::new(seed ^ (i as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
                    let mut logins = 0;
                    // Clients start spread over the first second rather than all at once.
                    std::thread::sleep(Duration::from_millis(rng.below(1000)));
                    // Bounded: at most 10 minutes of requests whatever the caller does.
                    for _ in 0..600 {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let request = c.next_request(&mut rng, &mut logins);
                        match client::send(addr, &request) {
                            Ok(r) if r.status < 500 => sent.fetch_add(1, Ordering::SeqCst),
                            _ => failed.fetch_add(1, Ordering::SeqCst),
                        };
                        std::thread::sleep(Duration::from_millis(700 + rng.below(600)));
                    }
                })
            })
            .collect();
        Workload {
            stop,
            sent,
            failed,
            threads,
        }
    }

    /// Stops every client; returns (requests answered, requests failed).
    pub fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
        (self.sent.load(Ordering::SeqCst), self.failed.load(Ordering::SeqCst))
    }
}

/// A third-party tool's binary, or a panic that says how to install it.
pub fn tool(name: &str) -> PathBuf {
    meshward_envoy::locate::on_path(name).unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed: run `cargo xtask setup` (it installs Debian's ffuf, gobuster, \
             hydra, siege and wget), or `apt-get install ffuf gobuster hydra siege wget`"
        )
    })
}

/// The repository's wordlist `name` (envoy/tests/data/wordlists).
pub fn wordlist(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/wordlists")
        .join(name)
}

/// One attack: the tool, the address it comes from and the detector it should raise.
pub struct Attack {
    /// The tool's name (also its binary).
    pub tool: &'static str,
    /// Sent as `X-Forwarded-For`.
    pub ip: &'static str,
    /// The detector expected to alert on `ip`.
    pub detector: &'static str,
    /// When the tool started.
    pub started: Option<SystemTime>,
    /// How long it ran.
    pub took: Duration,
}

/// The attacks in the order they run.
pub fn attacks() -> Vec<Attack> {
    let attack = |tool, ip, detector| Attack {
        tool,
        ip,
        detector,
        started: None,
        took: Duration::ZERO,
    };
    vec![
        attack("ffuf", "10.9.0.1", "probing"),
        attack("gobuster", "10.9.0.2", "probing"),
        attack("hydra", "10.9.0.3", "brute_force"),
        attack("wget", "10.9.0.4", "crawling"),
        attack("siege", "10.9.0.5", "rate_spike"),
    ]
}

/// The command line that runs `attack` against `addr` (every run bounded by its lists or
/// repetitions); `scratch` is its working directory.
pub fn command(attack: &Attack, addr: std::net::SocketAddr, scratch: &Path) -> Command {
    let base = format!("http://{addr}");
    let xff = format!("X-Forwarded-For: {}", attack.ip);
    let mut cmd = Command::new(tool(attack.tool));
    match attack.tool {
        "ffuf" => {
            cmd.arg("-u")
                .arg(format!("{base}/FUZZ"))
                .arg("-w")
                .arg(wordlist("paths.txt"));
            cmd.args(["-H", &xff, "-t", "4", "-s", "-timeout", "5"]);
        }
        "gobuster" => {
            cmd.args(["dir", "-u", &base, "-w"]).arg(wordlist("paths.txt"));
            cmd.args(["-H", &xff, "-t", "4", "-q", "-z", "--no-error", "--timeout", "5s"]);
        }
        "hydra" => {
            cmd.arg("-L")
                .arg(wordlist("users.txt"))
                .arg("-P")
                .arg(wordlist("passwords.txt"));
            cmd.args(["-I", "-t", "2", "-s", &addr.port().to_string(), "127.0.0.1", "http-get"]);
            cmd.arg(format!("/login:H=X-Forwarded-For\\: {}", attack.ip));
        }
        "wget" => {
            cmd.args([
                "-r",
                "-l",
                "50",
                "-nd",
                "--delete-after",
                "-e",
                "robots=off",
                "-q",
                "--header",
                &xff,
            ]);
            cmd.arg("-P").arg(scratch.join("wget")).arg(format!("{base}/"));
        }
        "siege" => {
            cmd.args(["-b", "-c", "4", "-r", "75", "--no-parser", "-q", "-H", &xff]);
            cmd.arg(format!("--log={}", scratch.join("siege.log").display()));
            cmd.arg(format!("{base}/products"));
        }
        other => panic!("no command line for {other}"),
    }
    // Siege and hydra write their state files under HOME and the working directory.
    cmd.current_dir(scratch).env("HOME", scratch).stdin(Stdio::null());
    cmd
}

/// Runs `attack` to its end (killed after `limit`); returns its combined output.
pub fn run(attack: &mut Attack, addr: std::net::SocketAddr, scratch: &Path, limit: Duration) -> String {
    let mut cmd = command(attack, addr, scratch);
    let out_path = scratch.join(format!("{}.out", attack.tool));
    let out = std::fs::File::create(&out_path).unwrap_or_else(|e| panic!("{}: {e}", out_path.display()));
    let err = out.try_clone().unwrap_or_else(|e| panic!("{e}"));
    cmd.stdout(out).stderr(err);
    attack.started = Some(SystemTime::now());
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", attack.tool));
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
        }
    }
    attack.took = start.elapsed();
    std::fs::read_to_string(&out_path).unwrap_or_default()
}
