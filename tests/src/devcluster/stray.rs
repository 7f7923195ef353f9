//! Processes started against a cluster by someone else than its supervisor (the test process
//! starts the suite's binaries itself). Each registers its pid in `<run dir>/pids/`; when the
//! cluster stops, whatever is still registered and still runs the same program is killed, so
//! a test process killed with SIGKILL leaves nothing behind.

use std::path::{Path, PathBuf};

fn pid_file(dir: &Path, pid: u32) -> PathBuf {
    dir.join("pids").join(pid.to_string())
}

/// Records that `pid` runs `program` against the cluster of `dir`.
pub fn register(dir: &Path, pid: u32, program: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("pids"))?;
    std::fs::write(pid_file(dir, pid), program.display().to_string())
}

/// Forgets `pid` (it was stopped normally).
pub fn unregister(dir: &Path, pid: u32) {
    let _ = std::fs::remove_file(pid_file(dir, pid));
}

/// SIGKILLs every registered process that still runs the program it registered with (a
/// recycled pid running something else is left alone).
pub fn kill_registered(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir.join("pids")) else {
        return;
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
        }
        let _ = std::fs::remove_file(entry.path());
    }
}
