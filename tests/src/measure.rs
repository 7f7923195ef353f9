//! Small measuring helpers shared by the benchmark binaries (`bench-*`).

/// A `/proc/<pid>/status` memory figure in KiB (`VmRSS:`, `VmHWM:`, ...); 0 when unreadable.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

/// The `p` quantile (0.0–1.0, nearest rank) of `values`; NaN when empty. Sorts `values`.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    let index = ((values.len() - 1) as f64 * p).round() as usize;
    values[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let mut values = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&mut values, 0.5), 3.0);
        assert_eq!(percentile(&mut values, 1.0), 5.0);
        assert!(percentile(&mut [], 0.5).is_nan());
    }

    #[test]
    fn our_own_resident_memory_is_readable() {
        assert!(rss_kib(std::process::id()) > 0);
    }
}
