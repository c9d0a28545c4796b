// as_header_gate: a small proxy-wasm filter written in AssemblyScript with the solo-io SDK
// (@solo-io/proxy-runtime, ABI 0.2.0). It exists to prove that meshward-host runs filters that
// were not built with our Rust toolchain or SDK, with the same result as Envoy.
//
// Configuration (plugin configuration, one `key=value` per line, `#` starts a comment):
//   tag=<value>            required; added to every request as `x-foreign-tag: <value>`
//   local_path=<prefix>    requests whose :path starts with it are answered by the filter
//   local_status=<code>    status of that local answer (200..599, default 403)
//   local_body=<text>      body of that local answer (a newline is appended)
// Any other key, a line without `=`, a bad status or a missing tag rejects the configuration.
//
// Per request it increments the counter `foreign_requests`, logs what it did at info level,
// and adds `x-foreign-seen: <tag>` to the response headers (local answers included).

export * from "@solo-io/proxy-runtime/proxy";
import {
  RootContext, Context, registerRootContext, log, LogLevelValues, Counter,
  FilterHeadersStatusValues, GrpcStatusValues, HeaderPair, Headers, send_local_response, stream_context,
} from "@solo-io/proxy-runtime";
import { get_buffer_bytes, BufferTypeValues } from "@solo-io/proxy-runtime/runtime";

/** Root id this filter registers; the proxy's plugin `root_id` must name it. */
const ROOT_ID = "as_header_gate";

/** Parses a decimal status code in 200..599, or returns 0. */
function parseStatus(text: string): u32 {
  if (text.length != 3) return 0;
  let value: u32 = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return 0;
    value = value * 10 + <u32>(c - 48);
  }
  return value >= 200 && value <= 599 ? value : 0;
}

class GateRoot extends RootContext {
  tag: string = "";
  localPath: string = "";
  localStatus: u32 = 403;
  localBody: string = "";
  requests: Counter | null = null;

  createContext(context_id: u32): Context {
    return new Gate(context_id, this);
  }

  // The SDK's own onConfigure passes the configuration size where the host expects a
  // pointer for the returned size, so the configuration always reads as empty; read it here.
  onConfigure(configuration_size: u32): bool {
    const raw = get_buffer_bytes(BufferTypeValues.PluginConfiguration, 0, configuration_size);
    const text = String.UTF8.decode(raw);
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line.length == 0 || line.startsWith("#")) continue;
      const eq = line.indexOf("=");
      if (eq < 1) {
        log(LogLevelValues.error, "as_header_gate: config line " + (i + 1).toString() + ": expected key=value, got '" + line + "'");
        return false;
      }
      const key = line.substring(0, eq).trim();
      const value = line.substring(eq + 1).trim();
      if (key == "tag") {
        this.tag = value;
      } else if (key == "local_path") {
        this.localPath = value;
      } else if (key == "local_status") {
        const status = parseStatus(value);
        if (status == 0) {
          log(LogLevelValues.error, "as_header_gate: config line " + (i + 1).toString() + ": local_status must be 200..599, got '" + value + "'");
          return false;
        }
        this.localStatus = status;
      } else if (key == "local_body") {
        this.localBody = value;
      } else {
        log(LogLevelValues.error, "as_header_gate: config line " + (i + 1).toString() + ": unknown key '" + key + "'");
        return false;
      }
    }
    if (this.tag.length == 0) {
      log(LogLevelValues.error, "as_header_gate: config has no tag");
      return false;
    }
    this.requests = new Counter("foreign_requests");
    log(LogLevelValues.info, "as_header_gate: configured tag=" + this.tag + " local_path=" + this.localPath);
    return true;
  }
}

class Gate extends Context {
  gate: GateRoot;

  constructor(context_id: u32, root_context: GateRoot) {
    super(context_id, root_context);
    this.gate = root_context;
  }

  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    const counter = this.gate.requests;
    if (counter !== null) counter.increment(1);
    const path = stream_context.headers.request.get(":path");
    if (this.gate.localPath.length > 0 && path.startsWith(this.gate.localPath)) {
      const extra: Headers = [];
      extra.push(new HeaderPair(String.UTF8.encode("x-foreign-local"), String.UTF8.encode("1")));
      send_local_response(this.gate.localStatus, "as_header_gate", String.UTF8.encode(this.gate.localBody + "\n"), extra, GrpcStatusValues.InvalidCode);
      log(LogLevelValues.info, "as_header_gate: answered " + path + " locally with " + this.gate.localStatus.toString());
      return FilterHeadersStatusValues.StopIteration;
    }
    stream_context.headers.request.add("x-foreign-tag", this.gate.tag);
    log(LogLevelValues.info, "as_header_gate: tagged " + path);
    return FilterHeadersStatusValues.Continue;
  }

  onResponseHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    stream_context.headers.response.add("x-foreign-seen", this.gate.tag);
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32): RootContext => new GateRoot(context_id), ROOT_ID);
