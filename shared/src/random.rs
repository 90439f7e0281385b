//! Secrets made from the operating system's random source (getrandom: the OS CSPRNG, no
//! user-space generator to seed or get wrong).

const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// `n` random bytes.
pub fn bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|err| format!("the operating system's random source failed: {err}"))?;
    Ok(buf)
}

/// `n` random bytes as lowercase hex (as `openssl rand -hex n`).
pub fn hex(n: usize) -> Result<String, String> {
    Ok(bytes(n)?.iter().map(|b| format!("{b:02x}")).collect())
}

/// `n` random bytes in URL-safe base64 with padding (as oauth2-proxy reads its cookie secret).
pub fn base64url(n: usize) -> Result<String, String> {
    use base64::Engine;
    Ok(base64::engine::general_purpose::URL_SAFE.encode(bytes(n)?))
}

/// A password of `len` letters and digits (no look-alikes), drawn without modulo bias.
pub fn password(len: usize) -> Result<String, String> {
    let limit = 256 - 256 % ALPHABET.len();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in bytes(len * 2)? {
            if (b as usize) < limit && out.len() < len {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        let key = super::hex(32).unwrap();
        assert_eq!(key.len(), 64);
        assert!(key.chars().all(|c| c.is_ascii_hexdigit()));
        let a = super::password(24).unwrap();
        assert_eq!(a.len(), 24);
        assert_ne!(a, super::password(24).unwrap());
        assert_eq!(super::base64url(32).unwrap().len(), 44);
    }
}
