//! Properties: `proxy_get_property`, `proxy_set_property` (Envoy rows E13-E15).

use super::{arg, put_bytes};
use crate::dir::Dir;
use crate::property::{self, PropertyMap, Value};
use crate::state::HostState;
use meshward_abi::Status;
use wasmtime::Linker;

/// Adds the property functions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    host_fns! { linker;
        fn proxy_get_property(mut c, pp: i32, ps: i32, vpp: i32, vsp: i32) {
            let path = arg(&mut c, pp, ps)?;
            let value = c.data().get_property(&path)?;
            put_bytes(&mut c, &value, vpp, vsp)
        }
        fn proxy_set_property(mut c, pp: i32, ps: i32, vp: i32, vs: i32) {
            let (path, value) = (arg(&mut c, pp, ps)?, arg(&mut c, vp, vs)?);
            Ok(c.data_mut().set_property(path, value)?)
        }
    }
    Ok(())
}

impl HostState {
    /// The property at `path` (NUL-separated segments) as Envoy serializes it (row E13);
    /// NotFound where Envoy has no such value in the acting context (row E14).
    pub(crate) fn get_property(&self, path: &[u8]) -> Result<Vec<u8>, Status> {
        self.property(&property::split_path(path))
            .map(|v| v.encode())
            .ok_or(Status::NotFound)
    }

    /// Stores a value in the stream's filter state, where `get_property` finds it under the
    /// same one-segment path; a built-in path is accepted but keeps its value (row E15). A root
    /// context has no stream info: NotFound.
    pub(crate) fn set_property(&mut self, path: Vec<u8>, value: Vec<u8>) -> Result<(), Status> {
        self.stream_mut()
            .ok_or(Status::NotFound)?
            .filter_state
            .insert(path, value);
        Ok(())
    }

    /// Property lookup as Envoy resolves it for the acting context.
    fn property(&self, segments: &[String]) -> Option<Value> {
        let ctx = self.context();
        let root = self.root_of(ctx);
        match segments.first().map(String::as_str) {
            Some("plugin_name") if segments.len() == 1 => return Some(Value::Str(self.plugin_name.clone())),
            Some("plugin_root_id") if segments.len() == 1 => {
                return self.roots.get(&root).map(|r| Value::Str(r.root_id.clone()))
            }
            Some("plugin_vm_id") if segments.len() == 1 => return Some(Value::Str(self.vm_id.clone())),
            _ => {}
        }
        if let Some(s) = self.streams.get(&ctx) {
            if segments.len() == 1 {
                if let Some(v) = s.filter_state.get(segments[0].as_bytes()) {
                    return Some(Value::Bytes(v.clone()));
                }
            }
            let (request, response) = (&s.dirs[Dir::Request], &s.dirs[Dir::Response]);
            let request_visible = request.live.headers || s.access_log_phase;
            let mut derived = PropertyMap::new();
            if request_visible {
                property::from_request_headers(&request.headers, &mut derived);
            }
            if response.live.headers || s.access_log_phase {
                property::from_response_headers(&response.headers, &mut derived);
            }
            // Stream-info values Envoy derives (rows E13/E14).
            let content_length = request_visible
                .then(|| {
                    request
                        .headers
                        .get("content-length")
                        .and_then(|v| v.parse::<i64>().ok())
                })
                .flatten();
            derived.insert(
                "request.size".into(),
                Value::Int(content_length.unwrap_or(s.request_bytes as i64)),
            );
            derived.insert("request.time".into(), Value::Int(s.start_ns as i64));
            if s.access_log_phase {
                derived.insert(
                    "request.duration".into(),
                    Value::Int(self.now_ns.saturating_sub(s.start_ns) as i64),
                );
            }
            derived.insert("response.size".into(), Value::Int(s.response_bytes as i64));
            if let Some(d) = &s.code_details {
                derived.insert("response.code_details".into(), Value::Str(d.clone()));
            }
            derived.insert("connection.id".into(), Value::Uint(s.connection_id));
            if let Some(v) = property::lookup(&derived, segments) {
                return Some(v);
            }
            if let Some(v) = property::lookup(&s.properties, segments) {
                return Some(v);
            }
            if segments.first().map(String::as_str) == Some("upstream") && !s.upstream_contacted {
                return None;
            }
        } else {
            // Root contexts have no stream info: only node properties are visible (row E14).
            match segments.first().map(String::as_str) {
                Some("node") => {}
                Some("xds") if segments.get(1).map(String::as_str) == Some("node") => {}
                _ => return None,
            }
        }
        property::lookup(&self.properties, segments)
    }
}

#[cfg(test)]
mod tests {
    use crate::dir::Dir;
    use crate::property::Value;
    use crate::state::testing::{headers, with_stream, ROOT};
    use meshward_abi::Status;

    fn int(v: i64) -> Result<Vec<u8>, Status> {
        Ok(v.to_le_bytes().to_vec())
    }

    #[test]
    fn request_properties_follow_the_request_headers_callback() {
        let mut s = with_stream();
        s.stream_mut().unwrap().dirs[Dir::Request].headers = headers(&[(":path", "/a?b"), ("content-length", "7")]);
        assert_eq!(
            s.get_property(b"request\0path"),
            Err(Status::NotFound),
            "before its callback"
        );
        assert_eq!(s.get_property(b"request\0size"), int(0), "bytes received so far");
        s.stream_mut().unwrap().dirs[Dir::Request].live.headers = true;
        assert_eq!(s.get_property(b"request\0path"), Ok(b"/a?b".to_vec()));
        assert_eq!(s.get_property(b"request\0url_path"), Ok(b"/a".to_vec()));
        assert_eq!(s.get_property(b"request\0size"), int(7), "8-byte little-endian");
        assert_eq!(s.get_property(b"request.path"), Err(Status::NotFound), "a dotted path");
        assert_eq!(
            s.get_property(b"response\0code"),
            Err(Status::NotFound),
            "no response yet"
        );
        assert_eq!(
            s.get_property(b"request\0duration"),
            Err(Status::NotFound),
            "only in on_log"
        );
    }

    #[test]
    fn on_log_sees_the_response_and_the_duration() {
        let mut s = with_stream();
        s.now_ns = 50;
        {
            let d = s.stream_mut().unwrap();
            d.start_ns = 20;
            d.dirs[Dir::Response].headers = headers(&[(":status", "404")]);
            d.code_details = Some("via_upstream".into());
            d.access_log_phase = true;
        }
        assert_eq!(s.get_property(b"response\0code"), int(404));
        assert_eq!(s.get_property(b"request\0duration"), int(30));
        assert_eq!(s.get_property(b"response\0code_details"), Ok(b"via_upstream".to_vec()));
    }

    #[test]
    fn set_property_is_per_stream_and_cannot_change_built_ins() {
        let mut s = with_stream();
        s.stream_mut().unwrap().dirs[Dir::Request].live.headers = true;
        s.stream_mut().unwrap().dirs[Dir::Request].headers = headers(&[(":path", "/real")]);
        assert_eq!(s.set_property(b"my_key".to_vec(), b"v".to_vec()), Ok(()));
        assert_eq!(s.get_property(b"my_key"), Ok(b"v".to_vec()));
        assert_eq!(s.set_property(b"request\0path".to_vec(), b"/fake".to_vec()), Ok(()));
        assert_eq!(
            s.get_property(b"request\0path"),
            Ok(b"/real".to_vec()),
            "Ok but no effect"
        );
        s.current = ROOT;
        assert_eq!(s.set_property(b"k".to_vec(), b"v".to_vec()), Err(Status::NotFound));
    }

    #[test]
    fn root_contexts_see_only_plugin_and_node_properties() {
        let mut s = with_stream();
        s.plugin_name = "p".into();
        s.properties.insert("source.address".into(), Value::from("1.2.3.4:5"));
        s.properties.insert("xds.node".into(), Value::Bytes(b"node".to_vec()));
        s.properties.insert("xds.cluster_name".into(), Value::from("upstream"));
        s.current = ROOT;
        assert_eq!(s.get_property(b"plugin_name"), Ok(b"p".to_vec()));
        assert_eq!(s.get_property(b"plugin_root_id"), Ok(Vec::new()));
        assert_eq!(s.get_property(b"xds\0node"), Ok(b"node".to_vec()));
        assert_eq!(s.get_property(b"source\0address"), Err(Status::NotFound));
        assert_eq!(s.get_property(b"xds\0cluster_name"), Err(Status::NotFound));
        s.current = crate::state::testing::STREAM;
        assert_eq!(s.get_property(b"source\0address"), Ok(b"1.2.3.4:5".to_vec()));
        assert_eq!(s.get_property(b"xds\0cluster_name"), Ok(b"upstream".to_vec()));
    }
}
