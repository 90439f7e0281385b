//! Python's `shlex.split` (POSIX mode, no comments): how `mlflow server` splits the
//! `--uvicorn-opts` and `--gunicorn-opts` strings before handing them to the server.

/// Why a string cannot be split, in Python's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    NoClosingQuotation,
    NoEscapedCharacter,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::NoClosingQuotation => "No closing quotation",
            Error::NoEscapedCharacter => "No escaped character",
        })
    }
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Between,
    Word,
    Quoted(char),
    /// After a backslash; the state to return to.
    Escaped(Option<char>),
}

/// The words of `text` as `shlex.split(text)` gives them.
pub fn split(text: &str) -> Result<Vec<String>, Error> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A quoted empty string is a word too.
    let mut started = false;
    let mut state = State::Between;
    for c in text.chars() {
        state = match state {
            State::Between | State::Word if " \t\r\n".contains(c) => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
                State::Between
            }
            State::Between | State::Word => {
                started = true;
                match c {
                    '\'' | '"' => State::Quoted(c),
                    '\\' => State::Escaped(None),
                    _ => {
                        word.push(c);
                        State::Word
                    }
                }
            }
            State::Quoted(q) if c == q => State::Word,
            State::Quoted('"') if c == '\\' => State::Escaped(Some('"')),
            State::Quoted(q) => {
                word.push(c);
                State::Quoted(q)
            }
            State::Escaped(inside) => {
                // Inside double quotes only the quote and the backslash are escaped.
                if inside.is_some_and(|q| c != q && c != '\\') {
                    word.push('\\');
                }
                word.push(c);
                inside.map_or(State::Word, State::Quoted)
            }
        };
    }
    match state {
        State::Quoted(_) => Err(Error::NoClosingQuotation),
        State::Escaped(_) => Err(Error::NoEscapedCharacter),
        _ => {
            if started {
                words.push(word);
            }
            Ok(words)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<String> {
        split(text).unwrap()
    }

    #[test]
    fn splits_as_python() {
        assert_eq!(ok("  --a=1   -b  2 "), ["--a=1", "-b", "2"]);
        assert_eq!(ok("--header 'x-a: b c' \"d e\""), ["--header", "x-a: b c", "d e"]);
        assert_eq!(ok("a'b'\"c\"d"), ["abcd"]);
        assert_eq!(ok("a '' b"), ["a", "", "b"]);
        assert_eq!(ok(r#"a\ b "c\"d" "e\nf" 'g\h'"#), ["a b", "c\"d", "e\\nf", "g\\h"]);
        assert_eq!(ok("#x y"), ["#x", "y"]);
        assert_eq!(ok(""), Vec::<String>::new());
        assert_eq!(split("'a"), Err(Error::NoClosingQuotation));
        assert_eq!(split("a\\"), Err(Error::NoEscapedCharacter));
    }
}
