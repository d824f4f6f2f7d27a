//! Persistent node state: the generation number (bumped on every start)
//! and the node uuid, in heartbeat's file formats.

use crate::log::Level;
use std::io::Write;
use std::path::Path;

/// Reads, increments and durably writes `hb_generation` (15-character
/// right-aligned decimal and a newline). Missing: starts at `now + 1`.
pub fn bump_generation(
    path: &Path,
    now_secs: u64,
    logs: &mut Vec<(Level, String)>,
) -> std::io::Result<u64> {
    let old = std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let gen = match old {
        Some(g) => g + 1,
        None => {
            let g = now_secs + 1;
            logs.push((
                Level::Warn,
                format!("No Previous generation - starting at {g}"),
            ));
            g
        }
    };
    let tmp = path.with_extension("new");
    {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{gen:>15}")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    logs.push((Level::Info, format!("Heartbeat generation: {gen}")));
    Ok(gen)
}

/// Reads `hb_uuid` (16 raw bytes) or creates it from /dev/urandom.
pub fn node_uuid(path: &Path, logs: &mut Vec<(Level, String)>) -> std::io::Result<[u8; 16]> {
    if let Ok(b) = std::fs::read(path) {
        if let Ok(u) = <[u8; 16]>::try_from(b.as_slice()) {
            return Ok(u);
        }
    }
    logs.push((
        Level::Info,
        "No uuid found for current node - generating a new uuid.".into(),
    ));
    let mut u = [0u8; 16];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(&mut u)?;
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    let mut f = std::fs::File::create(path)?;
    f.write_all(&u)?;
    f.sync_all()?;
    Ok(u)
}
