//! Link the binary with the idle wake's functions together (link/wake.ld says why), and
//! keep a map of the link for the test that checks the list still names them.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/wake.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let (Ok(dir), Ok(out)) = (std::env::var("CARGO_MANIFEST_DIR"), std::env::var("OUT_DIR")) else { return };
    println!("cargo:rustc-link-arg-bin=keepvip=-Wl,-T,{dir}/link/wake.ld");
    println!("cargo:rustc-link-arg-bin=keepvip=-Wl,-Map,{out}/keepvip.map");
}
