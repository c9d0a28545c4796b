//! Filter-defined metrics with Envoy's id scheme (type in the low 2 bits) and semantics.

use meshward_abi::{MetricType, Status};
use std::collections::{BTreeMap, HashMap};

/// The current value of one metric.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Metric {
    /// A monotonically increasing counter.
    Counter {
        /// Current value.
        value: u64,
    },
    /// A gauge that can go up and down.
    Gauge {
        /// Current value.
        value: i64,
    },
    /// A histogram; every recorded value in order.
    Histogram {
        /// Recorded values.
        values: Vec<u64>,
    },
}

/// All metrics of one VM; ids are per VM, values are per name as in Envoy's stats scope.
#[derive(Debug, Default)]
pub struct Metrics {
    ids: HashMap<u32, String>,
    values: BTreeMap<String, Metric>,
    next: [u32; 3],
}

impl Metrics {
    /// Defines (or re-defines) a metric; returns its id.
    pub fn define(&mut self, kind: u32, name: &str) -> Result<u32, Status> {
        let kind = MetricType::from_code(kind).ok_or(Status::BadArgument)?;
        // Envoy: next id = previous + 4, starting from the type tag; the first is 4 + type.
        let slot = &mut self.next[kind.code() as usize];
        *slot += 4;
        let id = *slot + kind.code();
        self.ids.insert(id, name.to_string());
        let fresh = match kind {
            MetricType::Counter => Metric::Counter { value: 0 },
            MetricType::Gauge => Metric::Gauge { value: 0 },
            MetricType::Histogram => Metric::Histogram { values: Vec::new() },
        };
        // Redefining an existing name keeps its value (same stat in Envoy's scope).
        let entry = self.values.entry(name.to_string()).or_insert(fresh.clone());
        if std::mem::discriminant(entry) != std::mem::discriminant(&fresh) {
            *entry = fresh;
        }
        Ok(id)
    }

    fn find(&mut self, id: u32) -> Option<&mut Metric> {
        let name = self.ids.get(&id)?;
        self.values.get_mut(name)
    }

    /// `proxy_increment_metric`: counters need a positive offset; histograms are rejected.
    pub fn increment(&mut self, id: u32, offset: i64) -> Status {
        match MetricType::from_code(id & 3) {
            Some(MetricType::Counter) => match self.find(id) {
                Some(Metric::Counter { value }) if offset > 0 => {
                    *value = value.wrapping_add(offset as u64);
                    Status::Ok
                }
                Some(_) => Status::BadArgument,
                None => Status::NotFound,
            },
            Some(MetricType::Gauge) => match self.find(id) {
                Some(Metric::Gauge { value }) => {
                    *value = value.wrapping_add(offset);
                    Status::Ok
                }
                _ => Status::NotFound,
            },
            _ => Status::BadArgument,
        }
    }

    /// `proxy_record_metric`: counter add, gauge set, histogram record.
    pub fn record(&mut self, id: u32, v: u64) -> Status {
        match self.find(id) {
            Some(Metric::Counter { value }) => *value = value.wrapping_add(v),
            Some(Metric::Gauge { value }) => *value = v as i64,
            Some(Metric::Histogram { values }) => values.push(v),
            None => return Status::NotFound,
        }
        Status::Ok
    }

    /// `proxy_get_metric`: counters and gauges only; histograms are BadArgument.
    pub fn get(&mut self, id: u32) -> Result<u64, Status> {
        if !matches!(
            MetricType::from_code(id & 3),
            Some(MetricType::Counter | MetricType::Gauge)
        ) {
            return Err(Status::BadArgument);
        }
        match self.find(id) {
            Some(Metric::Counter { value }) => Ok(*value),
            Some(Metric::Gauge { value }) => Ok(*value as u64),
            _ => Err(Status::NotFound),
        }
    }

    /// Metric by the name the filter defined.
    pub fn by_name(&self, name: &str) -> Option<&Metric> {
        self.values.get(name)
    }

    /// All metrics by name.
    pub fn all(&self) -> &BTreeMap<String, Metric> {
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_id_scheme_and_rules() {
        let mut m = Metrics::default();
        let c = m.define(MetricType::Counter.code(), "c").unwrap();
        let g = m.define(MetricType::Gauge.code(), "g").unwrap();
        let h = m.define(MetricType::Histogram.code(), "h").unwrap();
        assert_eq!((c, g, h), (4, 5, 6));
        assert_eq!(m.define(3, "x"), Err(Status::BadArgument));
        assert_eq!(m.increment(c, 2), Status::Ok);
        assert_eq!(m.increment(c, -1), Status::BadArgument);
        assert_eq!(m.increment(c, 0), Status::BadArgument);
        assert_eq!(m.get(c), Ok(2));
        assert_eq!(m.increment(g, -3), Status::Ok);
        assert_eq!(m.get(g), Ok((-3i64) as u64));
        assert_eq!(m.record(g, 9), Status::Ok);
        assert_eq!(m.get(g), Ok(9));
        assert_eq!(m.increment(h, 1), Status::BadArgument);
        assert_eq!(m.record(h, 5), Status::Ok);
        assert_eq!(m.get(h), Err(Status::BadArgument));
        assert_eq!(m.get(100), Err(Status::NotFound));
        assert_eq!(m.record(100, 1), Status::NotFound);
        let c2 = m.define(MetricType::Counter.code(), "c").unwrap();
        assert_eq!(c2, 8);
        assert_eq!(m.get(c2), Ok(2));
    }
}
