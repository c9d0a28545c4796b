//! The enum codes host functions take, each with the snake_case name probe scripts and the
//! CLI use for it.

/// Declares a code enum with `code`, `from_code`, `name`, `from_name` and `ALL`: the five
/// ABI enums differ only in their variants.
macro_rules! abi_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u32)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $code,)+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The code as it crosses the ABI.
            pub fn code(self) -> u32 {
                self as u32
            }

            /// The value with this code; `None` for a code the ABI does not define.
            pub fn from_code(code: u32) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Its snake_case name.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value with this snake_case name, or a plain code (`"3"`).
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)+
                    other => other.parse().ok().and_then($name::from_code),
                }
            }
        }
    };
}

abi_enum! {
    /// Buffers (`proxy_get_buffer_bytes`, `proxy_set_buffer_bytes`).
    BufferType {
        /// The HTTP request body.
        HttpRequestBody = 0 => "request_body",
        /// The HTTP response body.
        HttpResponseBody = 1 => "response_body",
        /// TCP data from downstream.
        DownstreamData = 2 => "downstream_data",
        /// TCP data from upstream.
        UpstreamData = 3 => "upstream_data",
        /// The body of an http call's response.
        HttpCallResponseBody = 4 => "http_call_response_body",
        /// A gRPC message received.
        GrpcReceiveBuffer = 5 => "grpc_receive_buffer",
        /// The VM configuration.
        VmConfiguration = 6 => "vm_configuration",
        /// The plugin configuration.
        PluginConfiguration = 7 => "plugin_configuration",
        /// Foreign-function call data.
        CallData = 8 => "call_data",
    }
}

abi_enum! {
    /// Header maps (`proxy_*_header_map_*`).
    MapType {
        /// HTTP request headers.
        HttpRequestHeaders = 0 => "request_headers",
        /// HTTP request trailers.
        HttpRequestTrailers = 1 => "request_trailers",
        /// HTTP response headers.
        HttpResponseHeaders = 2 => "response_headers",
        /// HTTP response trailers.
        HttpResponseTrailers = 3 => "response_trailers",
        /// gRPC initial metadata received.
        GrpcReceiveInitialMetadata = 4 => "grpc_receive_initial_metadata",
        /// gRPC trailing metadata received.
        GrpcReceiveTrailingMetadata = 5 => "grpc_receive_trailing_metadata",
        /// The headers of an http call's response.
        HttpCallResponseHeaders = 6 => "http_call_response_headers",
        /// The trailers of an http call's response.
        HttpCallResponseTrailers = 7 => "http_call_response_trailers",
    }
}

abi_enum! {
    /// Streams (`proxy_continue_stream`, `proxy_close_stream`).
    StreamType {
        /// The HTTP request.
        HttpRequest = 0 => "request",
        /// The HTTP response.
        HttpResponse = 1 => "response",
        /// The downstream TCP connection.
        Downstream = 2 => "downstream",
        /// The upstream TCP connection.
        Upstream = 3 => "upstream",
    }
}

abi_enum! {
    /// Metric kinds (`proxy_define_metric`).
    MetricType {
        /// A counter: only ever incremented.
        Counter = 0 => "counter",
        /// A gauge: set, incremented or decremented.
        Gauge = 1 => "gauge",
        /// A histogram: recorded values.
        Histogram = 2 => "histogram",
    }
}

abi_enum! {
    /// Log levels (`proxy_log`, `proxy_get_log_level`), spdlog's numbering as in Envoy.
    LogLevel {
        /// trace
        Trace = 0 => "trace",
        /// debug
        Debug = 1 => "debug",
        /// info: invisible at Istio's default `warning` level.
        Info = 2 => "info",
        /// warn
        Warn = 3 => "warn",
        /// error
        Error = 4 => "error",
        /// critical
        Critical = 5 => "critical",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            code: fn(T) -> u32,
            from_code: fn(u32) -> Option<T>,
            name: fn(T) -> &'static str,
            from_name: fn(&str) -> Option<T>,
        ) {
            for (i, v) in all.iter().enumerate() {
                assert_eq!(code(*v) as usize, i, "{v:?} is numbered in order");
                assert_eq!(from_code(code(*v)), Some(*v));
                assert_eq!(from_name(name(*v)), Some(*v));
                assert_eq!(from_name(&code(*v).to_string()), Some(*v));
            }
            assert_eq!(from_code(all.len() as u32), None);
            assert_eq!(from_name("no_such_name"), None);
            assert_eq!(from_name(&all.len().to_string()), None);
        }
        check(
            BufferType::ALL,
            BufferType::code,
            BufferType::from_code,
            BufferType::name,
            BufferType::from_name,
        );
        check(
            MapType::ALL,
            MapType::code,
            MapType::from_code,
            MapType::name,
            MapType::from_name,
        );
        check(
            StreamType::ALL,
            StreamType::code,
            StreamType::from_code,
            StreamType::name,
            StreamType::from_name,
        );
        check(
            MetricType::ALL,
            MetricType::code,
            MetricType::from_code,
            MetricType::name,
            MetricType::from_name,
        );
        check(
            LogLevel::ALL,
            LogLevel::code,
            LogLevel::from_code,
            LogLevel::name,
            LogLevel::from_name,
        );
        assert_eq!(BufferType::PluginConfiguration.code(), 7);
        assert_eq!(MapType::HttpResponseHeaders.code(), 2);
        assert_eq!(LogLevel::Critical.code(), 5);
    }
}
