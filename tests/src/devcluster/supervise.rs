//! Keeping a running dev cluster whole. The supervisor (`devcluster up`) checks its processes
//! a few times a second: one that exited is reaped (no zombie), recorded in `state.json` (its
//! exit status, a restart count, its new pid) and started again with the same command line,
//! unless a hold file says it was stopped on purpose (`devcluster stop-component`, for fault
//! tests); `devcluster start-component` removes the hold and the supervisor starts it again.
//! A process that keeps dying (more than [`MAX_RESTARTS`] in [`RESTART_WINDOW`]) is left
//! stopped and named in `state.json`'s `error`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use super::Component;
use super::state::State;

/// Restarts allowed within [`RESTART_WINDOW`] before giving up on a process.
pub const MAX_RESTARTS: usize = 5;
/// The window of [`MAX_RESTARTS`].
pub const RESTART_WINDOW: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// The hold file of `name` in the run folder `dir`: while it exists the supervisor does not
/// restart that process.
pub fn hold_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("hold").join(name)
}

/// Restart bookkeeping of one supervisor.
#[derive(Default)]
pub struct Supervisor {
    recent: BTreeMap<String, Vec<Instant>>,
}

impl Supervisor {
    /// Checks each `(state name, process)` once; returns whether `state` changed.
    pub fn check<'a>(
        &mut self,
        processes: impl IntoIterator<Item = (String, &'a mut Component)>,
        state: &mut State,
        dir: &Path,
    ) -> bool {
        let mut changed = false;
        for (name, process) in processes {
            let held = hold_path(dir, &name).exists();
            if state.pids.get(&name) == Some(&0) {
                // Stopped earlier (held or given up on): start it again once released.
                if !held && !state.given_up.contains(&name) {
                    changed |= self.restart(&name, process, state);
                }
                continue;
            }
            let Some(status) = process.exited() else {
                continue;
            };
            changed = true;
            eprintln!("devcluster: {name} exited ({status})");
            state.exits.insert(name.clone(), status.to_string());
            state.pids.insert(name.clone(), 0);
            if !held {
                self.restart(&name, process, state);
            }
        }
        changed
    }

    fn restart(&mut self, name: &str, process: &mut Component, state: &mut State) -> bool {
        let now = Instant::now();
        let recent = self.recent.entry(name.to_owned()).or_default();
        recent.retain(|at| now.duration_since(*at) < RESTART_WINDOW);
        if recent.len() >= MAX_RESTARTS {
            state.given_up.insert(name.to_owned());
            state.error = Some(format!(
                "{name} exited {MAX_RESTARTS} times within {RESTART_WINDOW:?}; left stopped (see \
                 {})",
                process.log.display()
            ));
            eprintln!("devcluster: {}", state.error.as_deref().unwrap_or_default());
            return true;
        }
        recent.push(now);
        match process.respawn() {
            Ok(()) => {
                *state.restarts.entry(name.to_owned()).or_default() += 1;
                state
                    .pids
                    .insert(name.to_owned(), process.pid().unwrap_or_default());
                eprintln!("devcluster: {name} started again");
            }
            Err(error) => eprintln!("devcluster: cannot start {name} again: {error:#}"),
        }
        true
    }
}

/// Stops `name` on purpose and keeps it stopped: writes its hold file, kills it, and waits
/// until the supervisor has recorded it as stopped.
pub async fn stop_component(dir: &Path, name: &str, timeout: Duration) -> Result<()> {
    let state = State::read(dir).context("reading state.json")?;
    let Some(&pid) = state.pids.get(name) else {
        bail!(
            "no process {name} in {} (known: {:?})",
            dir.display(),
            state.pids.keys()
        );
    };
    std::fs::create_dir_all(dir.join("hold"))?;
    std::fs::write(hold_path(dir, name), b"")?;
    if pid != 0 {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    until(dir, timeout, &format!("{name} recorded as stopped"), |s| {
        s.pids.get(name) == Some(&0)
    })
    .await
    .map(drop)
}

/// Releases the hold on `name` and waits until the supervisor has started it again; returns
/// its new pid.
pub async fn start_component(dir: &Path, name: &str, timeout: Duration) -> Result<u32> {
    let _ = std::fs::remove_file(hold_path(dir, name));
    let state = until(dir, timeout, &format!("{name} started again"), |s| {
        s.pids.get(name).is_some_and(|pid| *pid != 0)
    })
    .await?;
    Ok(state.pids[name])
}

/// Reads `state.json` until `check` holds (the supervisor rewrites it on every change).
pub async fn until(
    dir: &Path,
    timeout: Duration,
    what: &str,
    check: impl Fn(&State) -> bool,
) -> Result<State> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(state) = State::read(dir)
            && check(&state)
        {
            return Ok(state);
        }
        if Instant::now() > deadline {
            bail!(
                "{what}: not within {timeout:?} (state.json: {:?})",
                State::read(dir).ok()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}
