//! Credentials out of what the plugins print: MLflow may print a store URI, password included
//! (a Job's or a pod's log).

/// `scheme://user:password@host` → `scheme://user:***@host`, wherever it occurs in `text`.
pub fn passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@').and_then(|at| authority[..at].find(':').map(|colon| (colon, at))) {
            Some((colon, at)) => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::passwords;

    #[test]
    fn only_the_password_is_masked() {
        assert_eq!(
            passwords("can't connect to postgresql://mlflow:s3cr3t@db:5432/mlflow (x); see http://h:5000/a"),
            "can't connect to postgresql://mlflow:***@db:5432/mlflow (x); see http://h:5000/a"
        );
        assert_eq!(passwords("'mysql+pymysql://u:p@ss@h/db'"), "'mysql+pymysql://u:***@h/db'");
        assert_eq!(
            passwords("sqlite:////mlflow/mlflow.db and s3://user@bucket/x"),
            "sqlite:////mlflow/mlflow.db and s3://user@bucket/x"
        );
    }
}
