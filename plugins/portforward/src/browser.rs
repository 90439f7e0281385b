//! `--open`: the system's way to open a URL (xdg-open, open, or start).

use std::process::{Command, Stdio};

/// Starts the browser on `url` without waiting for it; the error says what is missing.
pub fn open(url: &str) -> Result<(), String> {
    let mut command = opener(url)?;
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    command.spawn().map(drop).map_err(|err| format!("cannot open a browser: {err}"))
}

fn opener(url: &str) -> Result<Command, String> {
    if cfg!(windows) {
        let mut command = Command::new("cmd");
        command.args(["/C", "start", "", url]);
        return Ok(command);
    }
    let name = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let program =
        which::which(name).map_err(|_| format!("cannot open a browser: {name} is not on PATH; open {url} yourself"))?;
    let mut command = Command::new(program);
    command.arg(url);
    Ok(command)
}
