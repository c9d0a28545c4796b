//! A loaded rule set, the engine's entry point: built from SecLang files and texts, then
//! shared by every transaction.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::compiled::{CompiledRules, RuleStats};
use crate::compiler;
use crate::config::EngineConfig;
use crate::error::{LoadError, LoadWarning};
use crate::files::Files;
use crate::parser;
use crate::rx_table::RxTable;
use crate::transaction::Transaction;

/// A compiled rule set; cheap to clone and shared by every transaction.
#[derive(Clone)]
pub struct RuleSet {
    inner: Arc<CompiledRules>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("stats", &self.inner.stats)
            .finish_non_exhaustive()
    }
}

impl RuleSet {
    /// Loads a rule file and everything it includes.
    pub fn from_file(path: impl AsRef<Path>) -> Result<RuleSet, LoadError> {
        RuleSet::builder().add_file(path).build()
    }

    /// Loads SecLang text; `origin` names it in errors and anchors relative includes.
    pub fn from_str(text: &str, origin: &str) -> Result<RuleSet, LoadError> {
        RuleSet::builder().add_str(text, origin).build()
    }

    /// Starts a rule set made of several files and texts, loaded in order.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// Directives accepted without effect.
    pub fn warnings(&self) -> &[LoadWarning] {
        &self.inner.warnings
    }

    /// Rules whose operator's automaton, built on first use rather than at load (`@rx`,
    /// `@pm`), failed to build, so they never match: the load-time warnings that could only
    /// be found on the request path (e.g. a regex over the compiled-size limit). Walks every
    /// rule: call it when logging, not per request.
    pub fn deferred_warnings(&self) -> Vec<LoadWarning> {
        let mut out = Vec::new();
        for rule in self.inner.phases.iter().flatten() {
            let mut link = Some(rule);
            while let Some(r) = link {
                if let crate::rule::RuleKind::Rule { operator, .. } = &r.kind {
                    if let Some(reason) = operator.deferred_error() {
                        out.push(LoadWarning {
                            location: r.location.clone(),
                            directive: "SecRule".into(),
                            reason: format!("its operator cannot be built, the rule never matches: {reason}"),
                        });
                    }
                }
                link = r.chained.as_deref();
            }
        }
        out
    }

    /// How many first-use builds have failed in this process, across rule sets: one atomic
    /// read, so a host can check it per request and call [`RuleSet::deferred_warnings`]
    /// only when it changed.
    pub fn deferred_failures() -> usize {
        crate::operator::DEFERRED_FAILURES.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Engine settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// True when a rule (or `SecAction`) with this id is loaded.
    pub fn has_rule(&self, id: u64) -> bool {
        self.inner.rule(id).is_some()
    }

    /// The compiled rules, for tests that inspect what loading produced.
    #[cfg(test)]
    pub(crate) fn compiled(&self) -> &CompiledRules {
        &self.inner
    }

    /// Counts of loaded rules.
    pub fn stats(&self) -> RuleStats {
        self.inner.stats
    }

    /// Starts a transaction (one request/response exchange).
    pub fn transaction(&self) -> Transaction {
        Transaction::new(Arc::clone(&self.inner))
    }
}

enum Source {
    File(PathBuf),
    Text { text: String, origin: String },
}

/// Collects rule sources, then compiles them with [`RuleSetBuilder::build`].
#[derive(Default)]
pub struct RuleSetBuilder {
    sources: Vec<Source>,
    base_dir: Option<PathBuf>,
    files: Files,
    rx_table: RxTable,
}

impl RuleSetBuilder {
    /// Adds a rule file (with its includes).
    pub fn add_file(mut self, path: impl AsRef<Path>) -> Self {
        self.sources.push(Source::File(path.as_ref().to_path_buf()));
        self
    }

    /// Adds SecLang text named `origin`.
    pub fn add_str(mut self, text: &str, origin: &str) -> Self {
        self.sources.push(Source::Text {
            text: text.to_string(),
            origin: origin.to_string(),
        });
        self
    }

    /// Directory relative includes and data files of text sources resolve against
    /// (default: the current directory).
    pub fn base_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.base_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Where files, includes and operator data files are read from (default: the disk); an
    /// in-memory [`MemoryFiles`](crate::MemoryFiles) loads rule sets where there is no filesystem.
    pub fn files(mut self, files: Files) -> Self {
        self.files = files;
        self
    }

    /// `@rx` analyses made ahead of time (see [`crate::rx_table`]): a listed pattern is not
    /// parsed again at load.
    pub fn rx_table(mut self, table: RxTable) -> Self {
        self.rx_table = table;
        self
    }

    /// Reads and compiles every source.
    pub fn build(self) -> Result<RuleSet, LoadError> {
        let mut directives = Vec::new();
        let base = self.base_dir.clone().unwrap_or_default();
        for source in &self.sources {
            match source {
                Source::File(p) => parser::read_file(&self.files, p, &mut directives)?,
                Source::Text { text, origin } => {
                    parser::read_str(&self.files, text, Path::new(origin), &base, &mut directives)?
                }
            }
        }
        let compiled = compiler::compile(&directives, self.rx_table)?;
        Ok(RuleSet {
            inner: Arc::new(compiled),
        })
    }
}

/// Compile-time check: a rule set can be shared across threads.
#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<RuleSet>();
}

#[cfg(test)]
mod tests {
    use super::RuleSet;

    #[test]
    fn an_operator_unbuildable_on_first_use_is_reported_and_never_matches() {
        let rules = RuleSet::from_str(
            "SecRuleEngine On\n\
             SecRule ARGS \"@rx (?:[a-z]{1000}){1000}\" \"id:1,phase:1,deny,t:none\"\n\
             SecRule ARGS \"@rx abc\" \"id:2,phase:1,pass,log,t:none\"\n",
            "deferred-test",
        )
        .expect("the syntax is valid, so it loads");
        assert!(rules.deferred_warnings().is_empty(), "nothing built yet");
        let failures = RuleSet::deferred_failures();
        let mut tx = rules.transaction();
        tx.process_connection("10.0.0.1", 1, "10.0.0.2", 80);
        tx.process_uri(format!("/?a={}", "a".repeat(2000)).as_bytes(), "GET", "1.1");
        tx.process_request_headers();
        assert!(tx.intervention().is_none(), "the unbuildable rule does not match");
        assert!(RuleSet::deferred_failures() > failures, "the failure is counted");
        let warnings = rules.deferred_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].location.line, 2);
        assert!(warnings[0].reason.contains("never matches"), "{}", warnings[0]);
    }
}
