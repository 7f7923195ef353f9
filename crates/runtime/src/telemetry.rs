//! Structured logging for every binary: plain or JSON lines on stderr, filtered per container.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::settings::LogFormat;

/// Installs the global subscriber. Fails when the filter does not parse.
pub fn init(log_level: &str, format: LogFormat) -> Result<(), crate::error::RuntimeError> {
    let filter = EnvFilter::try_new(log_level).map_err(|e| {
        crate::error::RuntimeError::Settings(format!(
            "--log-level {log_level:?} does not parse: {e}"
        ))
    })?;
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Plain => registry
            .with(
                fmt::layer()
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = result;
    Ok(())
}
