//! Helm's `--set` syntax: `a.b=c,list[0]=x,tags={a,b}`, with `\` escaping the next character.

use serde_json::{Map, Value};

/// How values given on the command line are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: `true`/`false`/`null`/integers are typed, the rest are strings.
    Typed,
    /// `--set-string`: always strings.
    String,
    /// `--set-file`: the value is a path; the file's content becomes a string.
    File,
}

/// Helm's largest accepted list index.
const MAX_INDEX: usize = 65536;

/// Parses one `--set` argument into `into`. `read_file` serves `--set-file`.
pub fn apply(
    expr: &str,
    kind: SetKind,
    into: &mut Value,
    read_file: &dyn Fn(&str) -> Result<String, String>,
) -> Result<(), String> {
    let mut parser = Parser { chars: expr.chars().collect(), pos: 0, kind, read_file };
    loop {
        let path = parser.key_path()?;
        let value = parser.value()?;
        assign(into, &path, value)?;
        match parser.next() {
            None => return Ok(()),
            Some(',') => continue,
            Some(other) => return Err(format!("unexpected {other:?} after a value")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    kind: SetKind,
    read_file: &'a dyn Fn(&str) -> Result<String, String>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    /// Reads `a.b[0].c` up to and including the `=`.
    fn key_path(&mut self) -> Result<Vec<Step>, String> {
        let mut steps = Vec::new();
        let mut key = String::new();
        loop {
            match self.next() {
                None => {
                    let shown = render_steps(&steps, &key);
                    return Err(if shown.is_empty() {
                        "expected key=value, got nothing".to_string()
                    } else {
                        format!("key \"{shown}\" has no value (expected {shown}=VALUE)")
                    });
                }
                Some('\\') => match self.next() {
                    Some(c) => key.push(c),
                    None => return Err("a trailing \\ escapes nothing".into()),
                },
                Some(',') => {
                    return Err(format!(
                        "key \"{}\" has no value (expected key=value pairs separated by commas)",
                        render_steps(&steps, &key)
                    ))
                }
                Some('.') => steps.push(Step::Key(self.take_key(&mut key, &steps)?)),
                Some('[') => {
                    if !key.is_empty() {
                        steps.push(Step::Key(std::mem::take(&mut key)));
                    }
                    steps.push(Step::Index(self.index()?));
                    match self.peek() {
                        Some('.') => {
                            self.pos += 1;
                        }
                        Some('=') | Some('[') => {}
                        other => {
                            return Err(format!(
                                "unexpected {} after a list index in \"{}\"",
                                other.map(|c| format!("{c:?}")).unwrap_or("end".into()),
                                render_steps(&steps, "")
                            ))
                        }
                    }
                }
                Some('=') => {
                    if !key.is_empty() {
                        steps.push(Step::Key(std::mem::take(&mut key)));
                    }
                    if steps.is_empty() || steps.last().is_none() {
                        return Err("a key is missing before \"=\"".into());
                    }
                    return Ok(steps);
                }
                Some(c) => key.push(c),
            }
        }
    }

    fn take_key(&self, key: &mut String, steps: &[Step]) -> Result<String, String> {
        if key.is_empty() && !matches!(steps.last(), Some(Step::Index(_))) {
            return Err(format!("empty key in \"{}\" (a key part between dots is missing)", render_steps(steps, ".")));
        }
        Ok(std::mem::take(key))
    }

    fn index(&mut self) -> Result<usize, String> {
        let mut digits = String::new();
        loop {
            match self.next() {
                Some(']') => break,
                Some(c) => digits.push(c),
                None => return Err(format!("list index \"[{digits}\" is not closed with \"]\"")),
            }
        }
        let index: i64 = digits.trim().parse().map_err(|_| format!("list index \"[{digits}]\" is not a number"))?;
        if index < 0 {
            return Err(format!("list index [{index}] is negative"));
        }
        if index as usize > MAX_INDEX {
            return Err(format!("list index [{index}] is larger than {MAX_INDEX}"));
        }
        Ok(index as usize)
    }

    fn value(&mut self) -> Result<Value, String> {
        if self.kind != SetKind::File && self.peek() == Some('{') {
            self.pos += 1;
            return self.list();
        }
        let text = self.text_until(&[','])?.0;
        match self.kind {
            SetKind::Typed => Ok(typed(&text)),
            SetKind::String => Ok(Value::String(text)),
            SetKind::File => (self.read_file)(&text).map(Value::String),
        }
    }

    fn list(&mut self) -> Result<Value, String> {
        let mut items = Vec::new();
        loop {
            let (text, end) = self.text_until(&[',', '}'])?;
            match end {
                Some('}') => {
                    if !(items.is_empty() && text.is_empty()) {
                        items.push(self.item(text));
                    }
                    return Ok(Value::Array(items));
                }
                Some(_) => items.push(self.item(text)),
                None => return Err("list \"{...\" is not closed with \"}\"".into()),
            }
        }
    }

    fn item(&self, text: String) -> Value {
        match self.kind {
            SetKind::Typed => typed(&text),
            _ => Value::String(text),
        }
    }

    /// Reads up to an unescaped stop character; consumes the stop character except `,` at the
    /// top level, which the caller reads.
    fn text_until(&mut self, stops: &[char]) -> Result<(String, Option<char>), String> {
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' {
                self.pos += 1;
                match self.next() {
                    Some(escaped) => text.push(escaped),
                    None => return Err("a trailing \\ escapes nothing".into()),
                }
            } else if stops.contains(&c) {
                if stops.len() > 1 {
                    self.pos += 1;
                }
                return Ok((text, Some(c)));
            } else {
                text.push(c);
                self.pos += 1;
            }
        }
        Ok((text, None))
    }
}

/// Helm's typing of `--set` values.
fn typed(text: &str) -> Value {
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if text == "0" {
        return Value::from(0);
    }
    if !text.is_empty() && !text.starts_with('0') {
        if let Ok(n) = text.parse::<i64>() {
            return Value::from(n);
        }
    }
    Value::String(text.to_string())
}

fn render_steps(steps: &[Step], tail: &str) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if !tail.is_empty() {
        if !out.is_empty() && !tail.starts_with('.') {
            out.push('.');
        }
        out.push_str(tail);
    }
    out
}

fn assign(into: &mut Value, path: &[Step], value: Value) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        *into = value;
        return Ok(());
    };
    match first {
        Step::Key(key) => {
            if !into.is_object() {
                *into = Value::Object(Map::new());
            }
            let map = into.as_object_mut().expect("just made a map");
            let slot = map.entry(key.clone()).or_insert(Value::Null);
            assign(slot, rest, value)
        }
        Step::Index(i) => {
            if !into.is_array() {
                *into = Value::Array(Vec::new());
            }
            let list = into.as_array_mut().expect("just made a list");
            if list.len() <= *i {
                list.resize(*i + 1, Value::Null);
            }
            assign(&mut list[*i], rest, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(expr: &str) -> Result<Value, String> {
        let mut v = json!({});
        apply(expr, SetKind::Typed, &mut v, &|p| Ok(format!("<{p}>")))?;
        Ok(v)
    }

    #[test]
    fn typed_values_like_helm() {
        assert_eq!(
            set("a=1,b=true,c=null,d=01,e=x,f=0,g=-3,h=1.5,i=").unwrap(),
            json!({"a": 1, "b": true, "c": null, "d": "01", "e": "x", "f": 0, "g": -3, "h": "1.5", "i": ""})
        );
    }

    #[test]
    fn paths_indexes_escapes_and_lists() {
        assert_eq!(
            set(r"a.b=c,l[1].x=y,k\.dotted=v,t={a,2,},e=a\,b").unwrap(),
            json!({"a": {"b": "c"}, "l": [null, {"x": "y"}], "k.dotted": "v", "t": ["a", 2, ""], "e": "a,b"})
        );
        assert_eq!(set("t={}").unwrap(), json!({"t": []}));
        assert_eq!(set(r#"podAnnotations.example\.com/x=1"#).unwrap(), json!({"podAnnotations": {"example.com/x": 1}}));
    }

    #[test]
    fn strings_and_files() {
        let mut v = json!({});
        apply("a=true,b=007", SetKind::String, &mut v, &|_| unreachable!()).unwrap();
        apply("c=path/x", SetKind::File, &mut v, &|p| Ok(format!("<{p}>"))).unwrap();
        assert_eq!(v, json!({"a": "true", "b": "007", "c": "<path/x>"}));
    }

    #[test]
    fn bad_syntax_is_explained() {
        assert!(set("a").unwrap_err().contains("has no value"));
        assert!(set("a,b=1").unwrap_err().contains("\"a\" has no value"));
        assert!(set("=1").unwrap_err().contains("key is missing"));
        assert!(set("a..b=1").unwrap_err().contains("empty key"));
        assert!(set("a[x]=1").unwrap_err().contains("not a number"));
        assert!(set("a[-1]=1").unwrap_err().contains("negative"));
        assert!(set("a[1=1").unwrap_err().contains("not closed"));
        assert!(set("a={1,2").unwrap_err().contains("not closed"));
        assert!(set("a[99999999]=1").unwrap_err().contains("larger"));
    }
}
