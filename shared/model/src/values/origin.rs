//! Which values file a merged value came from, so that a problem the validator finds in the merged
//! values names the file (`-f prod.yaml: storage.size: ...`) when the value was last set there.

use serde_json::Value;

use super::Source;
use crate::problem::Problems;

/// Names the file of each problem whose key path was last set by a `-f` file. Problems of values
/// set last by a flag, or not set at all, stay as they are.
pub fn name_files(problems: Problems, parts: &[(Source, Value)]) -> Problems {
    let named = problems.0.into_iter().map(|problem| {
        let last = parts.iter().rev().find(|(_, part)| sets(part, &problem.path));
        match last {
            Some((source @ Source::File(_), _)) if problem.source.is_empty() && !problem.path.is_empty() => {
                problem.in_source(&source.name())
            }
            _ => problem,
        }
    });
    Problems(named.collect())
}

/// Whether `part` holds the key path (`a.b[2].c`).
fn sets(part: &Value, path: &str) -> bool {
    let mut node = part;
    for segment in segments(path) {
        let next = match segment {
            Segment::Key(key) => node.get(key),
            Segment::Index(i) => node.get(i),
        };
        match next {
            Some(value) => node = value,
            None => return false,
        }
    }
    true
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for piece in path.split('.') {
        let (key, indexes) = piece.split_once('[').map_or((piece, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            match index.trim_end_matches(']').parse() {
                Ok(i) => out.push(Segment::Index(i)),
                Err(_) => out.push(Segment::Key(index)),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Problem;
    use serde_json::json;

    #[test]
    fn the_last_setter_names_the_problem() {
        let parts = vec![
            (Source::File("a.yaml".into()), json!({"storage": {"size": "1GB"}, "env": [{"name": "A"}, {"name": "A"}]})),
            (Source::File("b.yaml".into()), json!({"server": {"staticPrefix": "x"}})),
            (
                Source::Set(super::super::SetKind::Typed, "server.staticPrefix=y".into()),
                json!({"server": {"staticPrefix": "y"}}),
            ),
        ];
        let problems = Problems(vec![
            Problem::at("storage.size", "bad"),
            Problem::at("env[1].name", "twice"),
            Problem::at("server.staticPrefix", "bad"),
            Problem::at("mlflow.backendStoreUri", "missing"),
        ]);
        let shown: Vec<String> = name_files(problems, &parts).iter().map(|p| p.to_string()).collect();
        assert_eq!(
            shown,
            [
                "a.yaml: storage.size: bad",
                "a.yaml: env[1].name: twice",
                "server.staticPrefix: bad",
                "mlflow.backendStoreUri: missing"
            ]
        );
    }
}
