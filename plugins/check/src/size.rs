//! `--artifact-size`: a byte count with an optional unit, and sizes and rates as they are shown.

/// The artifact is held in memory: more than this is refused.
pub const MAX: u64 = 1 << 30;

const UNITS: [(&str, u64); 10] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("kB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
];

/// clap's parser of `--artifact-size`: `1048576`, `512KiB`, `5MiB`, `1GB`.
pub fn parse(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let unit = unit.trim();
    let Ok(number) = number.parse::<u64>() else {
        return Err("not a size: give bytes or a whole number with a unit, as 1048576, 512KiB or 5MiB".into());
    };
    let multiplier = match unit {
        "" => 1,
        unit => UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("unknown unit {unit:?} (use B, KiB, MiB, GiB, kB, MB or GB)"))?,
    };
    match number.checked_mul(multiplier) {
        Some(0) => Err("must be at least 1 byte".into()),
        Some(bytes) if bytes <= MAX => Ok(bytes),
        _ => Err("at most 1GiB (the artifact is held in memory)".into()),
    }
}

/// `512 B`, `1.0 MiB`, `5.0 MiB`.
pub fn show(bytes: u64) -> String {
    match bytes {
        b if b < 1 << 10 => format!("{b} B"),
        b if b < 1 << 20 => format!("{:.1} KiB", b as f64 / 1024.0),
        b if b < 1 << 30 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b => format!("{:.2} GiB", b as f64 / (1 << 30) as f64),
    }
}

/// `12.3 MiB/s`.
pub fn rate(bytes: u64, seconds: f64) -> String {
    format!("{:.1} MiB/s", bytes as f64 / (1 << 20) as f64 / seconds.max(1e-6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse("1048576"), Ok(1 << 20));
        assert_eq!(parse("1MiB"), Ok(1 << 20));
        assert_eq!(parse("5 MiB"), Ok(5 << 20));
        assert_eq!(parse("512Ki"), Ok(512 << 10));
        assert_eq!(parse("2MB"), Ok(2_000_000));
        assert_eq!(parse("1GiB"), Ok(1 << 30));
        assert!(parse("0").unwrap_err().contains("at least 1 byte"));
        assert!(parse("2GiB").unwrap_err().contains("at most 1GiB"));
        assert!(parse("5mb").unwrap_err().contains("unknown unit \"mb\""));
        assert!(parse("1.5MiB").unwrap_err().contains("not a size"));
        assert!(parse("MiB").unwrap_err().contains("not a size"));
        assert!(parse("99999999999999999999").unwrap_err().contains("not a size"));
    }

    #[test]
    fn shown_sizes_and_rates() {
        assert_eq!(show(512), "512 B");
        assert_eq!(show(1 << 20), "1.0 MiB");
        assert_eq!(show(5 << 20), "5.0 MiB");
        assert_eq!(rate(10 << 20, 2.0), "5.0 MiB/s");
    }
}
