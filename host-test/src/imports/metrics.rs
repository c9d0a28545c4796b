//! Metrics: `proxy_define/increment/record/get_metric` (Envoy row E24). The behaviour is
//! `Metrics`' (`crate::metrics`), the VM's per-area state.

use super::{arg, put_u32, put_u64, result_of, text};
use crate::state::HostState;
use wasmtime::Linker;

/// Adds the metric functions.
pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    host_fns! { linker;
        fn proxy_define_metric(mut c, ty: i32, np: i32, ns: i32, idp: i32) {
            let name = text(&arg(&mut c, np, ns)?);
            let id = c.data_mut().metrics.define(ty as u32, &name)?;
            Ok(put_u32(&mut c, idp, id)?)
        }
        fn proxy_increment_metric(mut c, id: i32, offset: i64) {
            Ok(result_of(c.data_mut().metrics.increment(id as u32, offset))?)
        }
        fn proxy_record_metric(mut c, id: i32, value: i64) {
            Ok(result_of(c.data_mut().metrics.record(id as u32, value as u64))?)
        }
        fn proxy_get_metric(mut c, id: i32, rp: i32) {
            let value = c.data_mut().metrics.get(id as u32)?;
            Ok(put_u64(&mut c, rp, value)?)
        }
    }
    Ok(())
}
