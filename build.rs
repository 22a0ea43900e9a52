//! Link the binary with the idle wake's functions together (link/wake.ld says why).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/wake.ld");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") else { return };
    println!("cargo:rustc-link-arg-bin=keepvip=-Wl,-T,{dir}/link/wake.ld");
}
