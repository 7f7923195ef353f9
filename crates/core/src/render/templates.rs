//! The template set: presets, sizes, service templates and artifact lists, as data.
//!
//! The files under `crates/core/templates/` are compiled in; an operator can point the
//! controller at a directory whose files replace the embedded ones of the same relative name,
//! without recompiling. All files are read when the set is built, so rendering itself does no
//! I/O. Templates are Jinja (minijinja) producing YAML.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use minijinja::{Environment, Error as JinjaError, ErrorKind as JinjaErrorKind};
use serde_json::Value;

use super::RenderError;

// Every file under crates/core/templates/, listed by build.rs.
include!(concat!(env!("OUT_DIR"), "/embedded_templates.rs"));

/// Prefix of the error `wait()` raises, recognised by [`Templates::render_yaml`] callers.
pub const WAIT_MARKER: &str = "rockoon-wait: ";
/// Prefix of a template error that names a spec path (`raise_error("spec.…: why")`).
const SPEC_MARKER: &str = "rockoon-spec-error: ";

/// Upper bound of template work per render, so a looping override cannot hang the controller.
const FUEL: u64 = 5_000_000;

/// A loaded template set.
pub struct Templates {
    env: Environment<'static>,
    names: Vec<String>,
    /// Renders that depend only on the template and a few inputs (image lists, presets,
    /// sizes), kept by template name and input, so repeated renders reuse them.
    memo: std::sync::Mutex<std::collections::HashMap<(String, String), Value>>,
}

impl Templates {
    /// The templates compiled into the binary.
    pub fn embedded() -> Self {
        Self::from_sources(
            EMBEDDED
                .iter()
                .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
                .collect(),
        )
        .expect("embedded templates parse (guarded by a unit test)")
    }

    /// The embedded templates, each replaced by the file of the same relative name in `dir`
    /// when there is one; files with new names are added.
    pub fn with_overrides(dir: &Path) -> Result<Self, RenderError> {
        let mut sources: BTreeMap<String, String> = EMBEDDED
            .iter()
            .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
            .collect();
        read_dir_into(dir, dir, &mut sources)?;
        Self::from_sources(sources)
    }

    fn from_sources(sources: BTreeMap<String, String>) -> Result<Self, RenderError> {
        let mut env = Environment::new();
        env.set_fuel(Some(FUEL));
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_filter("b64encode", |text: String| {
            base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
        });
        // `raise_error("spec.<path>: why")` names the spec path the user must fix: reported as
        // an invalid spec at that path rather than as a template failure at a template line.
        env.add_function(
            "raise_error",
            |message: String| -> Result<String, JinjaError> {
                let message = match message.starts_with("spec.") {
                    true => format!("{SPEC_MARKER}{message}"),
                    false => message,
                };
                Err(JinjaError::new(JinjaErrorKind::InvalidOperation, message))
            },
        );
        // `wait("reason")`: the service cannot render yet (e.g. Ceph keys not published); the
        // engine reports it as Waiting with that reason instead of rendering placeholders.
        env.add_function("wait", |reason: String| -> Result<String, JinjaError> {
            let message = format!("{WAIT_MARKER}{reason}");
            Err(JinjaError::new(JinjaErrorKind::InvalidOperation, message))
        });
        let names = sources.keys().cloned().collect();
        for (name, source) in sources {
            env.add_template_owned(name.clone(), source)
                .map_err(|e| RenderError::Template {
                    template: name,
                    message: describe(&e),
                })?;
        }
        Ok(Self {
            env,
            names,
            memo: Default::default(),
        })
    }

    /// Names of the templates under `prefix` (e.g. `artifacts/epoxy/`), sorted.
    pub fn names_under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.names
            .iter()
            .map(String::as_str)
            .filter(move |n| n.starts_with(prefix))
    }

    /// Whether a template of that name exists.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// [`Self::render_yaml`], remembered per template and context: for templates whose output
    /// depends on nothing else (every template is a pure function of its context).
    pub fn render_yaml_memo(&self, name: &str, context: &Value) -> Result<Value, RenderError> {
        let key = (name.to_owned(), context.to_string());
        if let Some(value) = self
            .memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(value.clone());
        }
        let value = self.render_yaml(name, context)?;
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: a controller renders few distinct preset/size/version combinations.
        if memo.len() > 256 {
            memo.clear();
        }
        memo.insert(key, value.clone());
        Ok(value)
    }

    /// Renders template `name` with `context` and parses the result as YAML.
    pub fn render_yaml(&self, name: &str, context: &Value) -> Result<Value, RenderError> {
        self.render_yaml_with(
            name,
            minijinja::Value::from(minijinja::value::Serde(context)),
        )
    }

    /// [`Self::render_yaml`] with a context already converted for the engine, so a context
    /// shared by many templates is converted once.
    pub fn render_yaml_with(
        &self,
        name: &str,
        context: minijinja::Value,
    ) -> Result<Value, RenderError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| RenderError::Template {
                template: name.to_owned(),
                message: describe(&e),
            })?;
        let text = template.render(context).map_err(|e| {
            let message = describe(&e);
            let without_location =
                |text: &str| text.split(" (in ").next().unwrap_or(text).to_owned();
            if let Some((_, reason)) = message.split_once(WAIT_MARKER) {
                return RenderError::Wait(without_location(reason));
            }
            match message
                .split_once(SPEC_MARKER)
                .and_then(|(_, problem)| problem.split_once(": "))
            {
                Some((path, problem)) => RenderError::InvalidSpec {
                    path: path.to_owned(),
                    message: without_location(problem),
                },
                None => RenderError::Template {
                    template: name.to_owned(),
                    message,
                },
            }
        })?;
        let value: Value = serde_norway::from_str(&text).map_err(|e| {
            let line = e.location().map(|l| l.line()).unwrap_or(0);
            let text_line = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
            RenderError::Template {
                template: name.to_owned(),
                message: format!(
                    "rendered text is not YAML: {e} (rendered line {line}: {text_line:?})"
                ),
            }
        })?;
        Ok(if value.is_null() {
            Value::Object(Default::default())
        } else {
            value
        })
    }
}

fn read_dir_into(
    root: &Path,
    dir: &Path,
    sources: &mut BTreeMap<String, String>,
) -> Result<(), RenderError> {
    let io = |e: std::io::Error| RenderError::Template {
        template: dir.display().to_string(),
        message: format!("cannot read template override directory: {e}"),
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            read_dir_into(root, &path, sources)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let name = relative.to_string_lossy().replace('\\', "/");
            sources.insert(name, std::fs::read_to_string(&path).map_err(io)?);
        }
    }
    Ok(())
}

/// A template error with its location and cause chain, on one line.
fn describe(error: &JinjaError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_parses() {
        let templates = Templates::embedded();
        for (name, _) in EMBEDDED {
            assert!(templates.has(name), "{name}");
        }
    }

    #[test]
    fn an_override_directory_replaces_the_embedded_file_of_the_same_name() {
        let dir = std::env::temp_dir().join(format!("rockoon-tpl-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("size")).unwrap();
        std::fs::write(dir.join("size/tiny.yaml"), "overridden: {{ 1 + 1 }}\n").unwrap();
        let templates = Templates::with_overrides(&dir).unwrap();
        let out = templates
            .render_yaml("size/tiny.yaml", &Value::Null)
            .unwrap();
        assert_eq!(out, serde_json::json!({"overridden": 2}));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_runaway_template_is_stopped_with_an_error() {
        let sources = BTreeMap::from([(
            "loop.yaml".to_owned(),
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
                .to_owned(),
        )]);
        let templates = Templates::from_sources(sources).unwrap();
        assert!(templates.render_yaml("loop.yaml", &Value::Null).is_err());
    }

    #[test]
    fn wait_in_a_template_becomes_a_wait_with_the_reason() {
        let sources = BTreeMap::from([(
            "w.yaml".to_owned(),
            "{{ wait(\"Ceph keys not published\") }}".to_owned(),
        )]);
        let error = Templates::from_sources(sources)
            .unwrap()
            .render_yaml("w.yaml", &Value::Null)
            .unwrap_err();
        assert_eq!(error, RenderError::Wait("Ceph keys not published".into()));
    }

    #[test]
    fn undefined_variables_are_errors_not_empty_strings() {
        let sources = BTreeMap::from([("t.yaml".to_owned(), "a: {{ missing.key }}".to_owned())]);
        let error = Templates::from_sources(sources)
            .unwrap()
            .render_yaml("t.yaml", &serde_json::json!({}))
            .unwrap_err();
        assert!(error.to_string().contains("t.yaml"), "{error}");
    }
}
