//! Credentials out of what the plugin prints: a worker's error may quote a store URI.

/// `scheme://user:password@host` → `scheme://user:***@host`, wherever it occurs in `text`.
pub fn passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@').and_then(|at| authority[..at].find(':').map(|colon| (colon, at))) {
            Some((colon, at)) => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_password_is_masked() {
        assert_eq!(
            super::passwords("(psycopg2) postgresql://mlflow:s3cr3t@db:5432/mlflow failed; see http://h:5000/a"),
            "(psycopg2) postgresql://mlflow:***@db:5432/mlflow failed; see http://h:5000/a"
        );
    }
}
