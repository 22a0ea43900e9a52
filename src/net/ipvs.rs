//! osixia's recipe loads `ip_vs` so services can bind the VIP on any node. keepvip does not
//! need it itself: try to load it when the host's modules are mounted, else say how, once.

use std::path::Path;

/// Returns a warning to log, or `None` when ip_vs is present or was loaded.
pub fn ensure_loaded() -> Option<String> {
    if Path::new("/sys/module/ip_vs").exists() {
        return None;
    }
    let release = nix::sys::utsname::uname().ok()?.release().to_string_lossy().into_owned();
    let dir = format!("/lib/modules/{release}/kernel/net/netfilter/ipvs");
    let why = match try_load(&dir) {
        Ok(()) => return None,
        Err(e) => e,
    };
    // The seed loads ip_vs "to permit services to bind to non-local addresses"; what the
    // kernel actually consults for that is net.ipv4.ip_nonlocal_bind, so name both.
    let nonlocal = match std::fs::read_to_string("/proc/sys/net/ipv4/ip_nonlocal_bind") {
        Ok(v) if v.trim() == "1" => "net.ipv4.ip_nonlocal_bind is already 1 here".to_string(),
        Ok(_) => "or set net.ipv4.ip_nonlocal_bind=1 (sysctl, /etc/sysctl.d/)".to_string(),
        Err(_) => "or set net.ipv4.ip_nonlocal_bind=1".to_string(),
    };
    Some(format!(
        "kernel module ip_vs is not loaded ({why}); keepvip works without it. The recipe loads it so services on a backup can bind the VIP before it arrives: run `modprobe ip_vs` on the host (and add ip_vs to /etc/modules), {nonlocal}"
    ))
}

fn try_load(dir: &str) -> Result<(), String> {
    // Compressed modules need the kernel to decompress (MODULE_INIT_COMPRESSED_FILE).
    for (name, flags) in [("ip_vs.ko", 0u32), ("ip_vs.ko.xz", 4), ("ip_vs.ko.zst", 4), ("ip_vs.ko.gz", 4)] {
        let path = format!("{dir}/{name}");
        let Ok(file) = std::fs::File::open(&path) else { continue };
        let params = c"";
        let flags = nix::kmod::ModuleInitFlags::from_bits_retain(flags);
        return nix::kmod::finit_module(&file, params, flags).map_err(|e| format!("loading {path}: {e}"));
    }
    Err(format!("no module under {dir}"))
}
