//! Runs the request body processor chosen for the transaction and keeps what it extracted.

use crate::action::BodyProcessor;
use crate::body::grpc::{self, GrpcConfig};
use crate::body::protobuf::{self, ProtobufLimits};
use crate::body::{json, multipart, ndjson, urlencoded, xml};

use super::state::Transaction;

impl Transaction {
    /// The processor for this request: `ctl:requestBodyProcessor`, else the one the
    /// Content-Type names (prefix match on the last Content-Type header, as ModSecurity v3).
    pub(crate) fn effective_body_processor(&self) -> Option<BodyProcessor> {
        if let Some(p) = self.overrides.body_processor {
            return Some(p);
        }
        let ct = self.request_headers.get_all_lower(b"content-type").last()?;
        let lower = ct.value.to_ascii_lowercase();
        if lower.starts_with(b"multipart/form-data") {
            Some(BodyProcessor::Multipart)
        } else if lower.starts_with(b"application/x-www-form-urlencoded") {
            Some(BodyProcessor::UrlEncoded)
        } else {
            None
        }
    }

    /// Runs the body processor over the buffered body (ModSecurity v3's processRequestBody).
    pub(crate) fn process_body(&mut self) {
        if self.body.processed {
            return;
        }
        self.body.processed = true;
        let processor = self.effective_body_processor();
        self.body.processor = processor;
        let content_type = self
            .request_headers
            .get_all_lower(b"content-type")
            .last()
            .map(|e| e.value.clone())
            .unwrap_or_default();
        let rules = self.rules.clone();
        let config = &rules.config;
        let limit = config.arguments_limit.unwrap_or(usize::MAX);
        let body = std::mem::take(&mut self.request_body);
        let no_files_limit = usize::try_from(config.request_body_no_files_limit).unwrap_or(usize::MAX);
        let no_files_exceeded = |body: &[u8]| body.len() > no_files_limit;
        const NO_FILES_MSG: &str = "Request body excluding files is bigger than the maximum expected.";
        match processor {
            None => {}
            // gRPC and protobuf bodies are bounded by the walk's own limits instead (a 128 KiB
            // message is ordinary gRPC; what is past the bounds is reported as not inspected).
            Some(BodyProcessor::UrlEncoded | BodyProcessor::Json | BodyProcessor::Ndjson | BodyProcessor::Xml)
                if no_files_exceeded(&body) =>
            {
                // Large bodies are not parsed; ModSecurity flags them instead.
                self.body.error = Some(NO_FILES_MSG.to_string());
                self.inbound_data_error = true;
            }
            Some(BodyProcessor::UrlEncoded) => {
                let parsed = urlencoded::parse_limited(&body, config.argument_separator, limit);
                if parsed.invalid_encoding {
                    self.urlencoded_error = true;
                }
                for (k, v) in parsed.args {
                    self.body.args_post.add_owned(k, v);
                }
            }
            Some(p @ (BodyProcessor::Json | BodyProcessor::Ndjson)) => {
                let json_config = json::JsonConfig {
                    max_depth: config.json_depth_limit,
                };
                let (args, error) = if p == BodyProcessor::Json {
                    let parsed = json::parse(&body, &json_config);
                    // An empty body is no JSON error (ModSecurity).
                    let error = parsed.error.filter(|_| !body.is_empty());
                    (parsed.args, error.map(|e| format!("JSON parsing error: {e}")))
                } else {
                    let parsed = ndjson::parse(&body, &json_config);
                    (parsed.args, parsed.error.map(|e| format!("NDJSON parsing error: {e}")))
                };
                for (k, v) in args.into_iter().take(limit) {
                    self.body.args_post.add_owned(k, v);
                }
                if error.is_some() {
                    self.body.error = error;
                }
            }
            Some(BodyProcessor::Grpc) => {
                let encoding = self
                    .request_headers
                    .get_all_lower(b"grpc-encoding")
                    .last()
                    .map(|e| e.value.clone());
                let mut grpc_config = GrpcConfig::from_headers(&content_type, encoding.as_deref());
                grpc_config.json_depth = config.json_depth_limit;
                let parsed = grpc::parse(&body, &grpc_config);
                for (k, v) in parsed.args.into_iter().take(limit) {
                    self.body.args_post.add_owned(k, v);
                }
                self.body.uninspected = parsed.uninspected;
                self.body.error = parsed.error;
            }
            Some(BodyProcessor::Protobuf) => {
                let mut walk = protobuf::Walk::default();
                let walked = protobuf::walk(&body, "protobuf", &ProtobufLimits::default(), &mut walk);
                for (k, v) in walk.args.into_iter().take(limit) {
                    self.body.args_post.add_owned(k, v);
                }
                if walk.limited {
                    self.body.uninspected.push("protobuf_fields_over_limit");
                }
                if walk.skipped_bytes > 0 {
                    self.body.uninspected.push("protobuf_binary_fields");
                }
                if let Err(e) = walked {
                    self.body.error = Some(format!("protobuf: {e}"));
                }
            }
            Some(BodyProcessor::Xml) => match xml::parse(&body) {
                Ok(doc) => self.body.xml = Some(doc),
                Err(e) => self.body.error = Some(e.to_string()),
            },
            Some(BodyProcessor::Multipart) => {
                let cfg = multipart::MultipartConfig {
                    file_limit: Some(config.upload_file_limit),
                    part_limit: config.arguments_limit,
                };
                let parsed = multipart::parse(&content_type, &body, &cfg);
                for (k, v) in parsed.args.into_iter().take(limit) {
                    self.body.args_post.add_owned(k, v);
                }
                self.body.files = parsed.files.iter().map(multipart::FilePart::uploaded).collect();
                for (k, v) in &parsed.part_headers {
                    self.body.part_headers.add(k, v);
                }
                self.body.multipart_names = parsed.names;
                self.body.multipart_filenames = parsed.filenames;
                self.body.multipart_flags = Some(parsed.flags);
                if parsed.parts_over_limit {
                    self.body.uninspected.push("multipart_parts_over_limit");
                }
                if let Some(e) = parsed.error {
                    self.body.error = Some(format!("Multipart parsing error: {e}"));
                } else if parsed.no_files_length > no_files_limit {
                    self.body.error = Some(NO_FILES_MSG.to_string());
                    self.inbound_data_error = true;
                }
            }
        }
        self.request_body = body;
    }
}
