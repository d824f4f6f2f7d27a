//! Writes the seed corpus of the `decode_reply` target (well-formed replies
//! of every kind) to `corpus/decode_reply/`, where `cargo fuzz run` looks.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/decode_reply");
    std::fs::create_dir_all(&dir)?;
    let seeds = ipvs::netlink::fuzz::seed_corpus();
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:02}")), seed)?;
    }
    println!("{} seeds in {}", seeds.len(), dir.display());
    Ok(())
}
