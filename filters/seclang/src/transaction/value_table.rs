//! Per variable, its values as the prefilter unions need them: grouped by class (what the
//! transformation chains do to them, see `transform::ValueClass`) and with the literals one
//! scan for every chain found in them.
//!
//! INVARIANT: a table lists every value of its variable, in visiting order, as they were
//! when it was made; it is valid while they do not change (the unions' own condition), so
//! the tables are cleared with the unions at every phase.

use rustc_hash::FxHashMap;

use crate::transform::ValueClass;
use crate::variable::Variable;

/// One value of a variable.
#[derive(Clone, Copy)]
pub(crate) struct Row {
    /// Its address and length, checked against the value visited in the same place.
    pub(crate) at: usize,
    pub(crate) len: u32,
    /// Where the (chain, pattern) pairs of the literals found in it lie in the cache's
    /// `found` list (start, length).
    pub(crate) found: (u32, u32),
    /// Its class's index in the table.
    class: u32,
}

impl Row {
    /// A row for the value at `at`, `len` bytes long, of class `class`.
    pub(crate) fn new(value: &[u8], found: (u32, u32)) -> Option<Row> {
        Some(Row {
            at: value.as_ptr() as usize,
            len: u32::try_from(value.len()).ok()?,
            found,
            class: 0,
        })
    }

    /// Whether this row stands for `value`.
    pub(crate) fn is(&self, value: &[u8]) -> bool {
        self.at == value.as_ptr() as usize && self.len as usize == value.len()
    }
}

/// Where one variable's rows and classes lie.
#[derive(Clone, Copy)]
pub(crate) struct Table {
    rows: (u32, u32),
    classes: (u32, u32),
}

/// The values of one class in a table.
struct Class {
    class: ValueClass,
    /// Where its rows with literals found lie in `with_found` (start, length).
    with_found: (u32, u32),
}

/// Every variable's table.
#[derive(Default)]
pub(crate) struct ValueTables {
    /// `None`: some value could not have a row; the variable has no table.
    tables: FxHashMap<Variable, Option<Table>>,
    rows: Vec<Row>,
    classes: Vec<Class>,
    /// Row indexes (into `rows`), grouped by class.
    with_found: Vec<u32>,
}

impl ValueTables {
    /// The table of `variable`: `None` if none was made yet, `Some(None)` if it cannot have one.
    pub(crate) fn get(&self, variable: Variable) -> Option<Option<Table>> {
        self.tables.get(&variable).copied()
    }

    /// Makes `variable`'s table from its values' rows and classes, in visiting order
    /// (`None` if some value has no row).
    pub(crate) fn insert(&mut self, variable: Variable, values: Option<Vec<(Row, ValueClass)>>) -> Option<Table> {
        let table = values.and_then(|values| self.make(values));
        self.tables.insert(variable, table);
        table
    }

    fn make(&mut self, values: Vec<(Row, ValueClass)>) -> Option<Table> {
        let row_start = u32::try_from(self.rows.len()).ok()?;
        let class_start = u32::try_from(self.classes.len()).ok()?;
        let mut index: FxHashMap<ValueClass, u32> = FxHashMap::default();
        let mut members: Vec<Vec<u32>> = Vec::new();
        for (i, (mut row, class)) in values.into_iter().enumerate() {
            let next = u32::try_from(members.len()).ok()?;
            let k = *index.entry(class).or_insert(next);
            if k == next {
                members.push(Vec::new());
                self.classes.push(Class {
                    class,
                    with_found: (0, 0),
                });
            }
            row.class = k;
            if row.found.1 > 0 {
                members.get_mut(k as usize)?.push(row_start + u32::try_from(i).ok()?);
            }
            self.rows.push(row);
        }
        for (k, m) in members.into_iter().enumerate() {
            let start = u32::try_from(self.with_found.len()).ok()?;
            let len = u32::try_from(m.len()).ok()?;
            self.with_found.extend(m);
            if let Some(c) = self.classes.get_mut(class_start as usize + k) {
                c.with_found = (start, len);
            }
        }
        Some(Table {
            rows: (row_start, u32::try_from(self.rows.len()).ok()? - row_start),
            classes: (class_start, u32::try_from(self.classes.len()).ok()? - class_start),
        })
    }

    /// The classes of `table`, in index order.
    pub(crate) fn classes(&self, table: Table) -> impl Iterator<Item = ValueClass> + '_ {
        let (start, len) = table.classes;
        self.classes
            .get(start as usize..(start + len) as usize)
            .unwrap_or(&[])
            .iter()
            .map(|c| c.class)
    }

    /// The rows of class `class` (an index from [`ValueTables::classes`]) of `table` in
    /// which literals were found.
    pub(crate) fn with_found(&self, table: Table, class: usize) -> impl Iterator<Item = &Row> + '_ {
        let (start, len) = self
            .classes
            .get(table.classes.0 as usize + class)
            .map_or((0, 0), |c| c.with_found);
        self.with_found
            .get(start as usize..(start + len) as usize)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&r| self.rows.get(r as usize))
    }

    /// Row `index` of `table` and its class index.
    pub(crate) fn row(&self, table: Table, index: u32) -> Option<(&Row, usize)> {
        if index >= table.rows.1 {
            return None;
        }
        let row = self.rows.get((table.rows.0 + index) as usize)?;
        Some((row, row.class as usize))
    }

    /// Forgets every table.
    pub(crate) fn clear(&mut self) {
        self.tables.clear();
        self.rows.clear();
        self.classes.clear();
        self.with_found.clear();
    }
}
