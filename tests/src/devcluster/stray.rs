//! Pids of every process started for a cluster, registered in `<run dir>/pids/<group>/`:
//! `components` (the control plane, started by the supervisor) and `binaries` (the suite's
//! binaries, started by the supervisor or by a test process). Whatever is still registered and
//! still runs the same program can be killed by whoever tears the cluster down, so neither a
//! test process nor a supervisor killed with SIGKILL leaves processes behind.

use std::path::{Path, PathBuf};

/// Control-plane processes.
pub const COMPONENTS: &str = "components";
/// The suite's binaries.
pub const BINARIES: &str = "binaries";

fn pid_file(dir: &Path, group: &str, pid: u32) -> PathBuf {
    dir.join("pids").join(group).join(pid.to_string())
}

/// Records that `pid` runs `program` for the cluster of `dir`.
pub fn register(dir: &Path, group: &str, pid: u32, program: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("pids").join(group))?;
    std::fs::write(pid_file(dir, group, pid), program.display().to_string())
}

/// Forgets `pid` (it was stopped normally).
pub fn unregister(dir: &Path, group: &str, pid: u32) {
    let _ = std::fs::remove_file(pid_file(dir, group, pid));
}

/// SIGKILLs every registered process that still runs the program it registered with (a
/// recycled pid running something else is left alone).
pub fn kill_registered(dir: &Path, group: &str) -> Vec<u32> {
    let mut killed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join("pids").join(group)) else {
        return killed;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let program = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let running = String::from_utf8_lossy(&cmdline);
        if !program.is_empty() && running.split('\0').next() == Some(program.as_str()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            killed.push(pid);
        }
        let _ = std::fs::remove_file(entry.path());
    }
    killed
}
