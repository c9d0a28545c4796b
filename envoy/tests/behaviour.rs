//! Behaviour analytics in a real Envoy, judged with tools no one here wrote: a shop app behind
//! Envoy and the policy filter (zero-config analytics, detect mode), a generated normal workload
//! of 16 clients, and Debian's ffuf and gobuster (content discovery), hydra (Basic-auth password
//! guessing), wget (recursive crawl) and siege (a flood from a client with a baseline) as
//! attackers, each from its own client address. Each attack must raise its detector's alert
//! within 30 s of its start, and no normal client any alert. Prints precision and recall per
//! detector (run with `--nocapture`).

mod behaviour_support;
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use behaviour_support::{attacks, run, shop, Client, Rng, Workload};
use meshward_envoy::{Envoy, EnvoyConfig, Request, Upstream};
use meshward_testkit::schema::EventSchema;
use serde_json::Value;

/// Zero-config analytics but for what the scenario needs: client addresses from one trusted
/// proxy hop, users from `x-user`, and a rate-spike baseline learned in 10 s instead of 5 min
/// (2 s buckets, 5 of warm-up) so the flood can come from a client with a baseline within a
/// CI-sized run.
const POLICY: &str = "\
mode: detect
trusted_proxy_hops: 1
observe: {interval_seconds: 1}
analytics:
  user_header: x-user
  engine:
    rate_spike: {bucket_secs: 2, warmup_buckets: 5}
";

const ALERT_PREFIX: &str = "meshward.policy.alert ";

/// Every alert logged so far, each checked against docs/schema/alert-event.schema.json.
fn alerts(envoy: &Envoy) -> Vec<Value> {
    envoy
        .json_lines(ALERT_PREFIX)
        .into_iter()
        .map(|(level, alert)| {
            EventSchema::Alert.assert_valid(&alert);
            assert_eq!(level, "warning", "alerts are logged at the evidence level: {alert}");
            alert
        })
        .collect()
}

/// `2026-12-07T19:46:30.123Z` as a time (the alerts' format).
fn parse_time(text: &str) -> SystemTime {
    let bad = || panic!("not an RFC 3339 UTC time with milliseconds: {text:?}");
    let num =
        |range: std::ops::Range<usize>| -> i64 { text.get(range).and_then(|s| s.parse().ok()).unwrap_or_else(bad) };
    if text.len() != 24 || !text.ends_with('Z') {
        bad();
    }
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    // Days from the civil date (Howard Hinnant's algorithm), March-based years.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19);
    UNIX_EPOCH + Duration::from_secs(secs as u64) + Duration::from_millis(num(20..23) as u64)
}

#[test]
fn parse_time_reads_the_alert_format() {
    assert_eq!(
        parse_time("2026-12-07T19:46:30.250Z"),
        UNIX_EPOCH + Duration::from_millis(1_796_672_790_250)
    );
    assert_eq!(parse_time("1970-01-01T00:00:00.000Z"), UNIX_EPOCH);
}

#[test]
fn third_party_attack_tools_raise_their_alerts_and_normal_clients_none() {
    let upstream = Upstream::start().expect("starting the upstream");
    upstream.set_handler(shop);
    let config = EnvoyConfig::new(upstream.addr())
        .log_level("warning")
        .filter(common::policy_filter(POLICY));
    let envoy = Envoy::start(&config).unwrap_or_else(|e| panic!("starting Envoy: {e}"));
    let scratch = envoy.dir().join("tools");
    std::fs::create_dir_all(&scratch).expect("scratch directory");

    let mut attacks = attacks();
    // Normal clients, plus siege's address behaving normally until it floods (its baseline).
    let mut rng = Rng::new(0x5eed_0b5e);
    let mut clients: Vec<Client> = (0..16)
        .map(|i| Client::new(&format!("10.1.0.{}", i + 1), &format!("user{i}"), &mut rng))
        .collect();
    let flooder = attacks
        .iter()
        .find(|a| a.detector == "rate_spike")
        .map(|a| a.ip)
        .expect("a flood");
    clients.push(Client::new(flooder, "user99", &mut rng));
    let normal_ips: Vec<String> = clients
        .iter()
        .filter(|c| c.ip != flooder)
        .map(|c| c.ip.clone())
        .collect();
    let normal_users: Vec<String> = clients.iter().map(|c| c.user.clone()).collect();
    let workload = Workload::start(envoy.addr(), clients, 7);

    // Rate-spike warm-up: 5 buckets of 2 s, with a margin for a loaded machine.
    std::thread::sleep(Duration::from_secs(14));
    let mut outputs = BTreeMap::new();
    for attack in &mut attacks {
        let out = run(attack, envoy.addr(), &scratch, Duration::from_secs(60));
        outputs.insert(attack.tool, out);
        std::thread::sleep(Duration::from_secs(2));
    }
    // The flood's client goes back to normal for a while: it must not keep alerting, and the
    // normal clients keep running past every attack.
    std::thread::sleep(Duration::from_secs(4));
    let (sent, failed) = workload.stop();
    let alerts = alerts(&envoy);

    println!("normal workload: {sent} requests answered, {failed} failed");
    for a in &attacks {
        println!("{:<9} from {} ran {:>5.1} s", a.tool, a.ip, a.took.as_secs_f64());
    }
    for a in &alerts {
        println!(
            "alert {} {} {} observed {} threshold {}",
            a["detector"], a["entity_kind"], a["entity"], a["observed"], a["threshold"]
        );
    }
    assert_eq!(failed, 0, "normal requests failed");
    assert!(sent > 16 * 20, "the normal workload ran: {sent} requests");

    // Recall: each attack raised its detector's alert on its own address within 30 s.
    let mut missed = Vec::new();
    for a in &attacks {
        let started = a.started.expect("the tool ran");
        let hit = alerts
            .iter()
            .find(|al| al["detector"] == a.detector && al["entity_kind"] == "client" && al["entity"] == a.ip);
        match hit {
            Some(al) => {
                let at = parse_time(al["time"].as_str().unwrap_or(""));
                let after = at.duration_since(started).unwrap_or(Duration::ZERO);
                println!(
                    "{:<9} → {} alert {:.1} s after start",
                    a.tool,
                    a.detector,
                    after.as_secs_f64()
                );
                if after > Duration::from_secs(30) {
                    missed.push(format!(
                        "{}: {} alert {:.1} s after start",
                        a.tool,
                        a.detector,
                        after.as_secs_f64()
                    ));
                }
            }
            None => missed.push(format!(
                "{} from {}: no {} alert; its output:\n{}",
                a.tool, a.ip, a.detector, outputs[a.tool]
            )),
        }
    }

    // No alert names a normal client or user (as the entity, or as the subject of one).
    let is_normal = |v: &Value| {
        v.as_str()
            .is_some_and(|s| normal_ips.iter().any(|ip| ip == s) || normal_users.iter().any(|u| u == s))
    };
    let false_alarms: Vec<&Value> = alerts
        .iter()
        .filter(|a| is_normal(&a["entity"]) || is_normal(&a["subject"]))
        .collect();

    // Precision and recall per detector: an alert is right when it names an attacker's address.
    let attacker = |v: &Value| attacks.iter().any(|a| v == a.ip);
    println!("{:<20} {:>7} {:>9} {:>6}", "detector", "alerts", "precision", "recall");
    for detector in ["probing", "brute_force", "crawling", "rate_spike"] {
        let fired: Vec<&Value> = alerts.iter().filter(|a| a["detector"] == detector).collect();
        let right = fired.iter().filter(|a| attacker(&a["entity"])).count();
        let meant: Vec<_> = attacks.iter().filter(|a| a.detector == detector).collect();
        let caught = meant
            .iter()
            .filter(|m| fired.iter().any(|a| a["entity"] == m.ip))
            .count();
        let ratio = |n: usize, d: usize| {
            if d == 0 {
                "-".to_owned()
            } else {
                format!("{:.2}", n as f64 / d as f64)
            }
        };
        println!(
            "{detector:<20} {:>7} {:>9} {:>6}",
            fired.len(),
            ratio(right, fired.len()),
            ratio(caught, meant.len())
        );
    }
    assert!(
        missed.is_empty(),
        "attacks not detected in time:\n{}",
        missed.join("\n")
    );
    assert!(false_alarms.is_empty(), "alerts on normal clients: {false_alarms:#?}");
    assert!(
        !alerts.iter().any(|a| a["mode"] != "detect" || a["enforced"] != false),
        "detect mode refuses nothing"
    );
}

/// Training: listen in detect mode (observation lines every second; `new_caller` learns the
/// workload's callers for 8 s instead of a day, to fit a CI run).
const LISTEN: &str = "\
mode: detect
observe: {interval_seconds: 1}
analytics:
  workload: shop
  engine:
    new_caller: {learning_secs: 8}
";

/// Requests counted by the observation lines in `log` (several windows may each log some).
fn observed_requests(envoy: &Envoy) -> u64 {
    envoy
        .json_lines("meshward.policy.observation ")
        .iter()
        .map(|(_, e)| e["count"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn a_policy_learned_from_service_calls_allows_held_back_calls_and_denies_a_new_caller() {
    use meshward_envoy::mesh::{wasm_http_filter, Caller, Identities, Mesh, MeshSpec, SERVER_HOST};

    let _one = meshward_envoy::mesh::exclusive();
    let ids = Identities::generate().expect("identities");
    let wasm = common::wasm("meshward-netpolicy");
    let spec = |policy: &str| MeshSpec {
        server_filters: vec![wasm_http_filter("netpolicy", &wasm, policy)],
        log_level: "warning".into(),
        ..MeshSpec::new()
    };

    // 1. Listen: the frontend's ordinary calls, observed by the server sidecar.
    let mesh = Mesh::start(&ids, &spec(LISTEN)).expect("mesh");
    mesh.app.set_handler(shop);
    let started = std::time::Instant::now();
    let mut rng = Rng::new(0x7ea1);
    const TRAINING: u64 = 400;
    for _ in 0..TRAINING {
        let r = mesh
            .send(
                Caller::Frontend,
                &behaviour_support::service_call(&mut rng, SERVER_HOST),
            )
            .expect("training call");
        assert!(r.status == 200 || r.status == 201, "{}: {}", r.status, r.text());
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while observed_requests(&mesh.server) < TRAINING {
        assert!(
            std::time::Instant::now() < deadline,
            "observations missing:\n{}",
            mesh.server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // What `kubectl logs` would give `meshward learn policy`: the sidecar's whole log.
    let recorded = mesh.server.log_text();

    // After new_caller's learning period, a caller the workload never had raises an alert.
    if let Some(rest) = Duration::from_secs(9).checked_sub(started.elapsed()) {
        std::thread::sleep(rest);
    }
    let r = mesh
        .send(
            Caller::Intruder,
            &Request::get("/products/7").header("host", SERVER_HOST),
        )
        .expect("intruder call");
    assert_eq!(r.status, 200, "detect mode refuses nothing");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let listened = loop {
        let found = alerts(&mesh.server);
        if !found.is_empty() || std::time::Instant::now() >= deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let intruder = &ids.intruder.spiffe_id;
    assert!(
        listened
            .iter()
            .any(|a| a["detector"] == "new_caller" && a["entity"] == "shop" && a["subject"] == intruder.as_str()),
        "no new_caller alert for {intruder}: {listened:#?}"
    );
    let frontend = &ids.frontend.spiffe_id;
    assert!(
        !listened
            .iter()
            .any(|a| a["entity"] == frontend.as_str() || a["subject"] == frontend.as_str()),
        "the frontend's ordinary calls raised alerts: {listened:#?}"
    );
    drop(mesh);

    // 2. Learn from the recorded lines (as `meshward learn policy` does), in enforce mode.
    let mut intake = meshward_learn::Intake::default();
    intake
        .read("server-sidecar.log", recorded.as_bytes())
        .expect("reading the log");
    let opts = meshward_learn::Options::new(meshward_vocab::Mode::Enforce, 10, &[], &[]).expect("options");
    let learned = meshward_learn::learn(&intake, &opts);
    let policy = meshward_learn::policy::render(&learned);
    println!("learned policy:\n{policy}");
    assert_eq!(
        learned.learned_requests, TRAINING,
        "every training call was learned from"
    );
    let service = learned
        .services
        .iter()
        .find(|s| s.host == SERVER_HOST)
        .unwrap_or_else(|| panic!("no service {SERVER_HOST}: {policy}"));
    let templates: std::collections::BTreeSet<(String, String)> = service
        .templates
        .iter()
        .flat_map(|t| t.methods.iter().map(|m| (m.clone(), t.template.clone())))
        .collect();
    let truth: std::collections::BTreeSet<(String, String)> = behaviour_support::SERVICE_ROUTES
        .iter()
        .map(|(m, t)| (m.to_string(), t.to_string()))
        .collect();
    let right = templates.intersection(&truth).count();
    println!(
        "templates: precision {:.3} ({right}/{}), recall {:.3} ({right}/{})",
        right as f64 / templates.len().max(1) as f64,
        templates.len(),
        right as f64 / truth.len() as f64,
        truth.len()
    );
    assert_eq!(templates, truth, "learned templates against the shop's routes");

    // 3. Enforce the learned policy: held-back calls pass, callers never seen are denied.
    let mesh = Mesh::start(&ids, &spec(&policy)).expect("mesh with the learned policy");
    mesh.app.set_handler(shop);
    let mut held_back = Rng::new(0xb0b);
    let mut denied = Vec::new();
    const HELD_BACK: usize = 200;
    for _ in 0..HELD_BACK {
        let call = behaviour_support::service_call(&mut held_back, SERVER_HOST);
        let r = mesh.send(Caller::Frontend, &call).expect("held-back call");
        if r.status == 403 {
            denied.push(format!("{} {}", call.method, call.path));
        }
    }
    println!("held-back normal calls: {HELD_BACK}, denied {}", denied.len());
    assert!(denied.is_empty(), "false denies of held-back calls: {denied:?}");
    for caller in [Caller::Intruder, Caller::Foreign] {
        let r = mesh
            .send(caller, &Request::get("/products/7").header("host", SERVER_HOST))
            .expect("new caller");
        assert_eq!(r.status, 403, "{caller:?} was never seen: denied");
    }
    let r = mesh
        .send(
            Caller::Frontend,
            &Request::get("/admin/users").header("host", SERVER_HOST),
        )
        .expect("unseen route");
    assert_eq!(r.status, 403, "a route the frontend never called is denied");
}
