//! The `env.proxy_*` host functions of ABI 0.2.1, with Envoy's statuses.

use crate::abi::{buffer, map, metric, stream, Status, GRPC_UNAVAILABLE};
use crate::memory::{copy_out, read, set_u32, set_u64, write, Ctx};
use crate::pairs;
use crate::property::split_path;
use crate::state::{HostState, LocalResponse, PendingGrpc};
use crate::upstream::HttpCall;
use crate::Headers;
use wasmtime::{Linker, Result};

const OK: i32 = Status::Ok as i32;

fn st(s: Status) -> i32 {
    s as i32
}

/// The header map the filter may read (Envoy `getConstMap`).
fn const_map(s: &HostState, ty: u32) -> Option<&Headers> {
    let ctx = s.context();
    match ty {
        map::HTTP_CALL_RESPONSE_HEADERS => return s.call_response.as_ref().map(|r| &r.0),
        map::HTTP_CALL_RESPONSE_TRAILERS => return s.call_response.as_ref().and_then(|r| r.2.as_ref()),
        map::GRPC_INITIAL_METADATA | map::GRPC_TRAILING_METADATA => return None,
        _ => {}
    }
    let d = s.streams.get(&ctx)?;
    match ty {
        map::REQUEST_HEADERS if d.access_log_phase || d.req_headers_live => Some(&d.req_headers),
        map::REQUEST_TRAILERS if !d.access_log_phase && d.req_trailers_live => d.req_trailers.as_ref(),
        map::RESPONSE_HEADERS if d.access_log_phase && !d.resp_headers.is_empty() => Some(&d.resp_headers),
        map::RESPONSE_HEADERS if d.resp_headers_live => Some(&d.resp_headers),
        map::RESPONSE_TRAILERS if d.access_log_phase || d.resp_trailers_live => d.resp_trailers.as_ref(),
        _ => None,
    }
}

/// The header map the filter may change (Envoy `getMap`); trailers are created on demand in
/// the last body callback, as Envoy's `addDecodedTrailers`/`addEncodedTrailers` do.
fn mut_map(s: &mut HostState, ty: u32) -> Option<&mut Headers> {
    let ctx = s.context();
    let d = s.streams.get_mut(&ctx)?;
    match ty {
        map::REQUEST_HEADERS if d.req_headers_live => Some(&mut d.req_headers),
        map::REQUEST_TRAILERS => {
            if d.req_trailers.is_none() && d.req_body_live && d.end_of_stream {
                d.req_trailers = Some(Headers::new());
                d.req_trailers_live = true;
            }
            if d.req_trailers_live {
                d.req_trailers.as_mut()
            } else {
                None
            }
        }
        map::RESPONSE_HEADERS if d.resp_headers_live => Some(&mut d.resp_headers),
        map::RESPONSE_TRAILERS => {
            if d.resp_trailers.is_none() && d.resp_body_live && d.end_of_stream {
                d.resp_trailers = Some(Headers::new());
                d.resp_trailers_live = true;
            }
            if d.resp_trailers_live {
                d.resp_trailers.as_mut()
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A buffer as Envoy's `getBuffer` returns it.
enum Buf {
    /// Not available: NotFound.
    Missing,
    /// Envoy returns a buffer wrapper around a null instance: empty, read-only.
    Null,
    /// An immutable string buffer (configuration, http call response body).
    Const(Vec<u8>),
    /// The live request (true) or response (false) body.
    Body(bool),
}

fn get_buffer(s: &HostState, ty: u32) -> Buf {
    let ctx = s.context();
    let d = s.streams.get(&ctx);
    match ty {
        buffer::HTTP_REQUEST_BODY => match d {
            Some(d) if d.req_body_live => Buf::Body(true),
            _ => Buf::Null,
        },
        buffer::HTTP_RESPONSE_BODY => match d {
            Some(d) if d.resp_body_live => Buf::Body(false),
            _ => Buf::Null,
        },
        buffer::HTTP_CALL_RESPONSE_BODY => match &s.call_response {
            Some(r) => Buf::Const(r.1.clone()),
            None => Buf::Missing,
        },
        buffer::VM_CONFIGURATION => Buf::Const(s.vm_config.clone()),
        buffer::PLUGIN_CONFIGURATION => match &s.configuring {
            Some(c) => Buf::Const(c.clone()),
            None => Buf::Missing,
        },
        buffer::CALL_DATA => Buf::Const(Vec::new()),
        _ => Buf::Null,
    }
}

fn body_mut(s: &mut HostState, request: bool) -> Option<&mut Vec<u8>> {
    let ctx = s.context();
    let d = s.streams.get_mut(&ctx)?;
    Some(if request { &mut d.req_body } else { &mut d.resp_body })
}

fn buffer_bytes(s: &HostState, b: &Buf) -> Vec<u8> {
    match b {
        Buf::Missing | Buf::Null => Vec::new(),
        Buf::Const(v) => v.clone(),
        Buf::Body(req) => {
            let d = &s.streams[&s.context()];
            if *req {
                d.req_body.clone()
            } else {
                d.resp_body.clone()
            }
        }
    }
}

/// Adds or replaces one header-map value (`proxy_add/replace_header_map_value`) with the
/// statuses Envoy gives: BadArgument for an unknown or unwritable map, InvalidMemoryAccess for
/// bad pointers.
fn write_map_value(
    c: &mut Ctx<'_>,
    ty: i32,
    (kp, ks): (i32, i32),
    (vp, vs): (i32, i32),
    write: impl FnOnce(&mut Headers, &str, Vec<u8>),
) -> i32 {
    if ty as u32 > map::MAX {
        return st(Status::BadArgument);
    }
    let (Some(k), Some(v)) = (read(c, kp, ks), read(c, vp, vs)) else {
        return st(Status::InvalidMemoryAccess);
    };
    match mut_map(c.data_mut(), ty as u32) {
        Some(m) => {
            write(m, &text(&k).to_ascii_lowercase(), v);
            OK
        }
        None => st(Status::BadArgument),
    }
}

/// A header map a filter handed over, as Envoy stores it: names lower-cased (a malformed
/// map is empty, as in proxy-wasm-cpp-host).
fn envoy_map(bytes: &[u8]) -> Headers {
    let mut map = Headers::new();
    map.replace_all(pairs::decode(bytes));
    map.lowercase_names();
    map
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Adds every `env.proxy_*` function to the linker.
pub(crate) fn add(linker: &mut Linker<HostState>) -> Result<()> {
    // ---- logging and time
    linker.func_wrap(
        "env",
        "proxy_log",
        |mut c: Ctx<'_>, level: i32, ptr: i32, size: i32| -> i32 {
            if level as u32 > crate::abi::log::MAX {
                return st(Status::BadArgument);
            }
            let Some(msg) = read(&mut c, ptr, size) else {
                return st(Status::InvalidMemoryAccess);
            };
            if level as u32 >= c.data().log_level {
                c.data_mut().log(level as u32, &msg);
            }
            OK
        },
    )?;
    linker.func_wrap("env", "proxy_get_log_level", |mut c: Ctx<'_>, ptr: i32| -> i32 {
        let level = c.data().log_level;
        if set_u32(&mut c, ptr, level) {
            OK
        } else {
            st(Status::InvalidMemoryAccess)
        }
    })?;
    linker.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: Ctx<'_>, ptr: i32| -> i32 {
            let now = c.data().now_ns;
            if set_u64(&mut c, ptr, now) {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut c: Ctx<'_>, ms: i32| -> i32 {
            let s = c.data_mut();
            let root = s.root_of(s.context());
            let now = s.now_ns;
            if let Some(r) = s.roots.get_mut(&root) {
                r.tick_ms = ms as u32;
                r.next_tick_ns = now + (ms as u32 as u64) * 1_000_000;
            }
            OK
        },
    )?;

    // ---- properties
    linker.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: Ctx<'_>, pp: i32, ps: i32, vpp: i32, vsp: i32| -> Result<i32> {
            let Some(path) = read(&mut c, pp, ps) else {
                return Ok(st(Status::InvalidMemoryAccess));
            };
            let segments = split_path(&path);
            let Some(value) = c.data().property(&segments) else {
                return Ok(st(Status::NotFound));
            };
            let bytes = value.encode();
            Ok(if copy_out(&mut c, &bytes, vpp, vsp)? {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            })
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_property",
        |mut c: Ctx<'_>, pp: i32, ps: i32, vp: i32, vs: i32| -> i32 {
            let (Some(path), Some(value)) = (read(&mut c, pp, ps), read(&mut c, vp, vs)) else {
                return st(Status::InvalidMemoryAccess);
            };
            let s = c.data_mut();
            let ctx = s.context();
            // Envoy stores it in the stream's filter state; a root context has no stream info.
            match s.streams.get_mut(&ctx) {
                Some(d) => {
                    d.filter_state.insert(path, value);
                    OK
                }
                None => st(Status::NotFound),
            }
        },
    )?;

    // ---- buffers
    linker.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: Ctx<'_>, ty: i32, start: i32, length: i32, pp: i32, sp: i32| -> Result<i32> {
            let ty = ty as u32;
            if ty > buffer::MAX {
                return Ok(st(Status::BadArgument));
            }
            let b = get_buffer(c.data(), ty);
            if matches!(b, Buf::Missing) {
                return Ok(st(Status::NotFound));
            }
            let bytes = buffer_bytes(c.data(), &b);
            // Envoy clamps the range and never fails, except on 32-bit overflow of start+size.
            if (start as u32).checked_add(length as u32).is_none() {
                return Ok(st(Status::BadArgument));
            }
            let (start, mut length) = (start as u32 as usize, length as u32 as usize);
            if start >= bytes.len() {
                return Ok(OK);
            }
            if start + length > bytes.len() {
                length = bytes.len() - start;
            }
            if length == 0 {
                return Ok(OK);
            }
            let slice = bytes[start..start + length].to_vec();
            Ok(if copy_out(&mut c, &slice, pp, sp)? {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            })
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_buffer_status",
        |mut c: Ctx<'_>, ty: i32, lp: i32, fp: i32| -> i32 {
            let ty = ty as u32;
            if ty > buffer::MAX {
                return st(Status::BadArgument);
            }
            let b = get_buffer(c.data(), ty);
            if matches!(b, Buf::Missing) {
                return st(Status::NotFound);
            }
            let len = buffer_bytes(c.data(), &b).len() as u32;
            if set_u32(&mut c, lp, len) && set_u32(&mut c, fp, 0) {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: Ctx<'_>, ty: i32, start: i32, length: i32, dp: i32, ds: i32| -> i32 {
            let ty = ty as u32;
            if ty > buffer::MAX {
                return st(Status::BadArgument);
            }
            let b = get_buffer(c.data(), ty);
            let Some(data) = read(&mut c, dp, ds) else {
                return st(Status::InvalidMemoryAccess);
            };
            let req = match b {
                Buf::Missing => return st(Status::NotFound),
                Buf::Null | Buf::Const(_) => return st(Status::BadArgument),
                Buf::Body(req) => req,
            };
            let Some(body) = body_mut(c.data_mut(), req) else {
                return st(Status::BadArgument);
            };
            let (start, length) = (start as u32 as usize, length as u32 as usize);
            // Envoy: start 0 replaces the first `length` bytes; start >= size appends.
            if start == 0 {
                let drain = length.min(body.len());
                body.splice(..drain, data);
                OK
            } else if start >= body.len() {
                body.extend_from_slice(&data);
                OK
            } else {
                st(Status::BadArgument)
            }
        },
    )?;

    // ---- header maps
    linker.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: Ctx<'_>, ty: i32, pp: i32, sp: i32| -> Result<i32> {
            if ty as u32 > map::MAX {
                return Ok(st(Status::BadArgument));
            }
            let pairs = const_map(c.data(), ty as u32)
                .map(Headers::to_pairs)
                .unwrap_or_default();
            let bytes = pairs::encode(&pairs);
            Ok(if copy_out(&mut c, &bytes, pp, sp)? {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            })
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: Ctx<'_>, ty: i32, p: i32, s: i32| -> i32 {
            if ty as u32 > map::MAX {
                return st(Status::BadArgument);
            }
            let Some(data) = read(&mut c, p, s) else {
                return st(Status::InvalidMemoryAccess);
            };
            match mut_map(c.data_mut(), ty as u32) {
                Some(m) => {
                    *m = envoy_map(&data);
                    OK
                }
                None => st(Status::BadArgument),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut c: Ctx<'_>, ty: i32, kp: i32, ks: i32, vpp: i32, vsp: i32| -> Result<i32> {
            if ty as u32 > map::MAX {
                return Ok(st(Status::BadArgument));
            }
            let Some(key) = read(&mut c, kp, ks) else {
                return Ok(st(Status::InvalidMemoryAccess));
            };
            let s = c.data();
            let mut key = text(&key).to_ascii_lowercase();
            if key == "host" && ty as u32 == map::REQUEST_HEADERS {
                key = ":authority".into(); // Envoy stores Host as :authority
            }
            let value = match const_map(s, ty as u32) {
                Some(m) => match m.get_bytes(&key) {
                    Some(v) => v.to_vec(),
                    None => return Ok(st(Status::NotFound)),
                },
                None => {
                    let log_phase = s.streams.get(&s.context()).is_some_and(|d| d.access_log_phase);
                    return Ok(st(if log_phase {
                        Status::NotFound
                    } else {
                        Status::BadArgument
                    }));
                }
            };
            Ok(if copy_out(&mut c, &value, vpp, vsp)? {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            })
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_add_header_map_value",
        |mut c: Ctx<'_>, ty: i32, kp: i32, ks: i32, vp: i32, vs: i32| -> i32 {
            write_map_value(&mut c, ty, (kp, ks), (vp, vs), |m, k, v| m.add(k, v))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut c: Ctx<'_>, ty: i32, kp: i32, ks: i32, vp: i32, vs: i32| -> i32 {
            write_map_value(&mut c, ty, (kp, ks), (vp, vs), |m, k, v| m.set(k, v))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut c: Ctx<'_>, ty: i32, kp: i32, ks: i32| -> i32 {
            if ty as u32 > map::MAX {
                return st(Status::BadArgument);
            }
            let Some(k) = read(&mut c, kp, ks) else {
                return st(Status::InvalidMemoryAccess);
            };
            match mut_map(c.data_mut(), ty as u32) {
                Some(m) => {
                    m.remove(&text(&k));
                    OK
                }
                None => st(Status::BadArgument),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_size",
        |mut c: Ctx<'_>, ty: i32, rp: i32| -> i32 {
            if ty as u32 > map::MAX {
                return st(Status::BadArgument);
            }
            let size = match mut_map(c.data_mut(), ty as u32) {
                Some(m) => m.byte_size() as u32,
                None => return st(Status::BadArgument),
            };
            if set_u32(&mut c, rp, size) {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            }
        },
    )?;

    // ---- stream control
    fn continue_stream(s: &mut HostState, ty: u32) -> i32 {
        let ctx = s.context();
        let Some(d) = s.streams.get_mut(&ctx) else {
            return if ty <= stream::RESPONSE {
                OK
            } else if ty == stream::UPSTREAM {
                st(Status::Unimplemented)
            } else {
                OK
            };
        };
        match ty {
            stream::REQUEST => {
                d.continue_request = true;
                // Envoy forgets the request maps once the filter lets the request go.
                d.req_headers_live = false;
                d.req_body_live = false;
                d.req_trailers_live = false;
                OK
            }
            stream::RESPONSE => {
                d.continue_response = true;
                // Envoy's continueStream clears the request maps for both directions.
                d.req_headers_live = false;
                d.req_body_live = false;
                d.req_trailers_live = false;
                OK
            }
            stream::DOWNSTREAM => OK,
            _ => st(Status::Unimplemented),
        }
    }
    linker.func_wrap("env", "proxy_continue_stream", |mut c: Ctx<'_>, ty: i32| -> i32 {
        if ty as u32 > stream::MAX {
            return st(Status::BadArgument);
        }
        continue_stream(c.data_mut(), ty as u32)
    })?;
    linker.func_wrap("env", "proxy_continue_request", |mut c: Ctx<'_>| -> i32 {
        continue_stream(c.data_mut(), stream::REQUEST)
    })?;
    linker.func_wrap("env", "proxy_continue_response", |mut c: Ctx<'_>| -> i32 {
        continue_stream(c.data_mut(), stream::RESPONSE)
    })?;
    linker.func_wrap("env", "proxy_close_stream", |mut c: Ctx<'_>, ty: i32| -> i32 {
        if ty as u32 > stream::MAX {
            return st(Status::BadArgument);
        }
        let s = c.data_mut();
        let ctx = s.context();
        if let Some(d) = s.streams.get_mut(&ctx) {
            if ty as u32 <= stream::RESPONSE {
                d.close = true;
            }
        }
        OK
    })?;
    linker.func_wrap("env", "proxy_clear_route_cache", |_c: Ctx<'_>| -> i32 { OK })?;
    linker.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut c: Ctx<'_>, code: i32, dp: i32, ds: i32, bp: i32, bs: i32, hp: i32, hs: i32, grpc: i32| -> i32 {
            let (Some(details), Some(body), Some(hdrs)) =
                (read(&mut c, dp, ds), read(&mut c, bp, bs), read(&mut c, hp, hs))
            else {
                return st(Status::InvalidMemoryAccess);
            };
            let headers = envoy_map(&hdrs);
            let s = c.data_mut();
            let ctx = s.context();
            if let Some(d) = s.streams.get_mut(&ctx) {
                let grpc = grpc as u32;
                d.local_response.get_or_insert(LocalResponse {
                    status: code as u32,
                    headers,
                    body,
                    details: text(&details).replace(char::is_whitespace, "_"),
                    grpc_status: (grpc <= 16).then_some(grpc),
                });
            }
            s.stop_next_iteration = true;
            OK
        },
    )?;
    linker.func_wrap("env", "proxy_set_effective_context", |mut c: Ctx<'_>, id: i32| -> i32 {
        let s = c.data_mut();
        let id = id as u32;
        if s.streams.contains_key(&id) || s.roots.contains_key(&id) {
            s.effective = id;
            OK
        } else {
            st(Status::BadArgument)
        }
    })?;
    linker.func_wrap("env", "proxy_done", |mut c: Ctx<'_>| -> i32 {
        let s = c.data_mut();
        let ctx = s.context();
        // Only a root context whose on_done returned false may call proxy_done.
        match s.done.iter().position(|&r| r == ctx) {
            Some(i) => {
                s.done.remove(i);
                s.released.push(ctx);
                OK
            }
            None => st(Status::NotFound),
        }
    })?;
    linker.func_wrap(
        "env",
        "proxy_call_foreign_function",
        |mut c: Ctx<'_>, np: i32, ns: i32, ap: i32, asz: i32, _rp: i32, _rs: i32| -> i32 {
            if read(&mut c, np, ns).is_none() || read(&mut c, ap, asz).is_none() {
                return st(Status::InvalidMemoryAccess);
            }
            // host-test registers no foreign functions.
            st(Status::NotFound)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_configuration",
        |mut c: Ctx<'_>, pp: i32, sp: i32| -> Result<i32> {
            let cfg = c
                .data()
                .configuring
                .clone()
                .unwrap_or_else(|| c.data().vm_config.clone());
            Ok(if copy_out(&mut c, &cfg, pp, sp)? {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            })
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_status",
        |mut c: Ctx<'_>, cp: i32, pp: i32, sp: i32| -> Result<i32> {
            let (code, msg) = c.data().status.clone();
            if !set_u32(&mut c, cp, code) {
                return Ok(st(Status::InvalidMemoryAccess));
            }
            Ok(if copy_out(&mut c, &msg, pp, sp)? {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            })
        },
    )?;

    // ---- http and grpc callouts
    linker.func_wrap(
        "env",
        "proxy_http_call",
        |mut c: Ctx<'_>,
         up: i32,
         us: i32,
         hp: i32,
         hs: i32,
         bp: i32,
         bs: i32,
         tp: i32,
         ts: i32,
         timeout: i32,
         token_ptr: i32|
         -> i32 {
            let (Some(cluster), Some(h), Some(body), Some(t)) = (
                read(&mut c, up, us),
                read(&mut c, hp, hs),
                read(&mut c, bp, bs),
                read(&mut c, tp, ts),
            ) else {
                return st(Status::InvalidMemoryAccess);
            };
            if !set_u32(&mut c, token_ptr, 0) {
                return st(Status::InvalidMemoryAccess);
            }
            if timeout < 0 {
                return st(Status::BadArgument);
            }
            let cluster = text(&cluster);
            let s = c.data_mut();
            if !s.upstreams.clusters.contains_key(&cluster) {
                return st(Status::BadArgument);
            }
            let mut headers = envoy_map(&h);
            if headers.get_bytes(":path").is_none()
                || headers.get_bytes(":method").is_none()
                || headers.get_bytes(":authority").is_none() && headers.get_bytes("host").is_none()
            {
                return st(Status::BadArgument);
            }
            if !body.is_empty() {
                headers.set("content-length", body.len().to_string());
            }
            let trailers = envoy_map(&t);
            let token = s.next_http_token;
            s.next_http_token += 1;
            let context_id = s.context();
            s.http_calls.push(HttpCall {
                token,
                cluster,
                headers,
                body,
                trailers,
                timeout_ms: timeout as u32,
                context_id,
            });
            s.pending_http.push(token);
            if set_u32(&mut c, token_ptr, token) {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            }
        },
    )?;
    fn grpc_open(c: &mut Ctx<'_>, service: &[u8], stream: bool, token_ptr: i32) -> i32 {
        let s = c.data_mut();
        let name = text(service);
        // Envoy: a gRPC service cluster is unreachable here (14 UNAVAILABLE); a plain HTTP
        // cluster closes the call with 13 INTERNAL (row E23); an unknown name is a ParseFailure.
        let status = if s.upstreams.grpc.contains(&name) {
            GRPC_UNAVAILABLE
        } else if s.upstreams.clusters.contains_key(&name) {
            13
        } else {
            return st(Status::ParseFailure);
        };
        let token = s.next_grpc_token + u32::from(stream);
        s.next_grpc_token += 2;
        let root = s.root_of(s.context());
        s.pending_grpc.push(PendingGrpc { root, token, status });
        if set_u32(c, token_ptr, token) {
            OK
        } else {
            st(Status::InvalidMemoryAccess)
        }
    }
    linker.func_wrap(
        "env",
        "proxy_grpc_call",
        |mut c: Ctx<'_>,
         sp: i32,
         ss: i32,
         snp: i32,
         sns: i32,
         mp: i32,
         ms: i32,
         ip: i32,
         is: i32,
         rp: i32,
         rs: i32,
         _timeout: i32,
         token_ptr: i32|
         -> i32 {
            let reads = [
                read(&mut c, sp, ss),
                read(&mut c, snp, sns),
                read(&mut c, mp, ms),
                read(&mut c, ip, is),
                read(&mut c, rp, rs),
            ];
            if reads.iter().any(Option::is_none) {
                return st(Status::InvalidMemoryAccess);
            }
            let service = reads[0].clone().unwrap_or_default();
            grpc_open(&mut c, &service, false, token_ptr)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_grpc_stream",
        |mut c: Ctx<'_>,
         sp: i32,
         ss: i32,
         snp: i32,
         sns: i32,
         mp: i32,
         ms: i32,
         ip: i32,
         is: i32,
         token_ptr: i32|
         -> i32 {
            let reads = [
                read(&mut c, sp, ss),
                read(&mut c, snp, sns),
                read(&mut c, mp, ms),
                read(&mut c, ip, is),
            ];
            if reads.iter().any(Option::is_none) {
                return st(Status::InvalidMemoryAccess);
            }
            let service = reads[0].clone().unwrap_or_default();
            grpc_open(&mut c, &service, true, token_ptr)
        },
    )?;
    fn grpc_known(s: &HostState, token: u32) -> bool {
        s.pending_grpc.iter().any(|g| g.token == token)
    }
    linker.func_wrap(
        "env",
        "proxy_grpc_send",
        |mut c: Ctx<'_>, token: i32, mp: i32, ms: i32, _eos: i32| -> i32 {
            if read(&mut c, mp, ms).is_none() {
                return st(Status::InvalidMemoryAccess);
            }
            let token = token as u32;
            if token & 1 == 1 {
                return st(Status::BadArgument);
            }
            if grpc_known(c.data(), token) {
                OK
            } else {
                st(Status::NotFound)
            }
        },
    )?;
    fn grpc_end(s: &mut HostState, token: u32) -> i32 {
        match s.pending_grpc.iter().position(|g| g.token == token) {
            Some(i) => {
                s.pending_grpc.remove(i);
                OK
            }
            None => st(Status::NotFound),
        }
    }
    linker.func_wrap("env", "proxy_grpc_cancel", |mut c: Ctx<'_>, token: i32| -> i32 {
        grpc_end(c.data_mut(), token as u32)
    })?;
    linker.func_wrap("env", "proxy_grpc_close", |mut c: Ctx<'_>, token: i32| -> i32 {
        grpc_end(c.data_mut(), token as u32)
    })?;

    // ---- shared data and queues
    linker.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut c: Ctx<'_>, kp: i32, ks: i32, vpp: i32, vsp: i32, casp: i32| -> Result<i32> {
            let Some(key) = read(&mut c, kp, ks) else {
                return Ok(st(Status::InvalidMemoryAccess));
            };
            let s = c.data();
            let (value, cas) = match s.shared.get(&s.vm_id, &key) {
                Ok(v) => v,
                Err(e) => return Ok(st(e)),
            };
            if !copy_out(&mut c, &value, vpp, vsp)? || !set_u32(&mut c, casp, cas) {
                return Ok(st(Status::InvalidMemoryAccess));
            }
            Ok(OK)
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_shared_data",
        |mut c: Ctx<'_>, kp: i32, ks: i32, vp: i32, vs: i32, cas: i32| -> i32 {
            let (Some(k), Some(v)) = (read(&mut c, kp, ks), read(&mut c, vp, vs)) else {
                return st(Status::InvalidMemoryAccess);
            };
            let s = c.data();
            st(s.shared.set(&s.vm_id, &k, &v, cas as u32))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_register_shared_queue",
        |mut c: Ctx<'_>, np: i32, ns: i32, tp: i32| -> i32 {
            let Some(name) = read(&mut c, np, ns) else {
                return st(Status::InvalidMemoryAccess);
            };
            let s = c.data();
            let root = s.root_of(s.context());
            let token = s.shared.register_queue(&s.vm_id, &name, s.plugin_uid, root);
            if set_u32(&mut c, tp, token) {
                OK
            } else {
                st(Status::InvalidMemoryAccess)
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_resolve_shared_queue",
        |mut c: Ctx<'_>, vp: i32, vs: i32, np: i32, ns: i32, tp: i32| -> i32 {
            let (Some(vm), Some(name)) = (read(&mut c, vp, vs), read(&mut c, np, ns)) else {
                return st(Status::InvalidMemoryAccess);
            };
            // Newer cpp-host (Envoy 1.40): an empty vm_id means the caller's own VM id.
            let vm = if vm.is_empty() {
                c.data().vm_id.clone()
            } else {
                text(&vm)
            };
            match c.data().shared.resolve_queue(&vm, &name) {
                Ok(token) => {
                    if set_u32(&mut c, tp, token) {
                        OK
                    } else {
                        st(Status::InvalidMemoryAccess)
                    }
                }
                Err(e) => st(e),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_dequeue_shared_queue",
        |mut c: Ctx<'_>, token: i32, pp: i32, sp: i32| -> Result<i32> {
            match c.data().shared.dequeue(token as u32) {
                Ok(v) => Ok(if copy_out(&mut c, &v, pp, sp)? {
                    OK
                } else {
                    st(Status::InvalidMemoryAccess)
                }),
                Err(e) => Ok(st(e)),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_enqueue_shared_queue",
        |mut c: Ctx<'_>, token: i32, p: i32, s: i32| -> i32 {
            let Some(data) = read(&mut c, p, s) else {
                return st(Status::InvalidMemoryAccess);
            };
            st(c.data().shared.enqueue(token as u32, &data))
        },
    )?;

    // ---- metrics
    linker.func_wrap(
        "env",
        "proxy_define_metric",
        |mut c: Ctx<'_>, ty: i32, np: i32, ns: i32, idp: i32| -> i32 {
            let Some(name) = read(&mut c, np, ns) else {
                return st(Status::InvalidMemoryAccess);
            };
            match c.data_mut().metrics.define(ty as u32, &text(&name)) {
                Ok(id) => {
                    if set_u32(&mut c, idp, id) {
                        OK
                    } else {
                        st(Status::InvalidMemoryAccess)
                    }
                }
                Err(e) => st(e),
            }
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_increment_metric",
        |mut c: Ctx<'_>, id: i32, offset: i64| -> i32 { st(c.data_mut().metrics.increment(id as u32, offset)) },
    )?;
    linker.func_wrap(
        "env",
        "proxy_record_metric",
        |mut c: Ctx<'_>, id: i32, value: i64| -> i32 { st(c.data_mut().metrics.record(id as u32, value as u64)) },
    )?;
    linker.func_wrap("env", "proxy_get_metric", |mut c: Ctx<'_>, id: i32, rp: i32| -> i32 {
        match c.data_mut().metrics.get(id as u32) {
            Ok(v) => {
                if set_u64(&mut c, rp, v) {
                    OK
                } else {
                    st(Status::InvalidMemoryAccess)
                }
            }
            Err(e) => st(e),
        }
    })?;
    let _ = (metric::COUNTER, GRPC_UNAVAILABLE, write);
    Ok(())
}
