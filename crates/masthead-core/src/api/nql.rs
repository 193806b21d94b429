//! NQL, the filter language of Ghost's APIs (`tag:news+featured:true`),
//! parsed into a tree the store turns into SQL with bound values. Bounded:
//! the text, the nesting, the number of tests and the length of a list
//! all have a ceiling, so no filter costs more than a small query.
//!
//! Grammar: `or := and (',' and)*`, `and := unary ('+' unary)*`,
//! `unary := '(' or ')' | field ':' op? value`. Operators: none (equals),
//! `-` (not), `>`, `>=`, `<`, `<=`, `~` (contains), `~^` (starts with),
//! `~$` (ends with), each of the last three negatable (`-~`); a value is a
//! literal, a quoted string (`'…'` or `"…"`, `\` escapes), or a list
//! `[a,b]` (`-[a,b]` is "none of"). A space between two tests means `+`:
//! a form-encoded `+` arrives as a space.

use std::fmt;

/// The longest filter accepted, in bytes.
pub const MAX_LEN: usize = 4096;
/// The deepest nesting of parentheses.
pub const MAX_DEPTH: usize = 8;
/// The most tests in one filter.
pub const MAX_TESTS: usize = 64;
/// The most values in one `[…]` list.
pub const MAX_LIST: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Test(Test),
}

/// One `field:op value` test.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub field: String,
    pub op: Op,
    /// One value, or the list's values for `In`/`NotIn`.
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Contains,
    NotContains,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
}

impl Op {
    /// Whether the test holds when this operator's positive form does not.
    pub fn negated(self) -> bool {
        matches!(
            self,
            Op::Ne | Op::NotIn | Op::NotContains | Op::NotStartsWith | Op::NotEndsWith
        )
    }
}

/// A value as written: a literal (`true`, `null`, `2024-01-01`, `now-7d`)
/// or a quoted string. What it means depends on the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub text: String,
    pub quoted: bool,
}

impl Value {
    /// `null`, unquoted.
    pub fn is_null(&self) -> bool {
        !self.quoted && self.text == "null"
    }

    /// `true` or `false` (quoted or not).
    pub fn as_bool(&self) -> Option<bool> {
        match self.text.as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }
    }

    /// A time as Unix seconds: an ISO 8601 date or date-time (`2024-05-01`,
    /// `2024-05-01 08:30:00`, `2024-05-01T08:30:00.000Z`, read as UTC when
    /// it names no offset), or `now`, `now-7d`, `now+1h` (s, m, h, d, w, M,
    /// y) relative to `now`.
    pub fn as_time(&self, now: i64) -> Option<i64> {
        let t = self.text.trim();
        if let Some(rest) = t.strip_prefix("now") {
            if rest.is_empty() {
                return Some(now);
            }
            let (sign, rest) = match rest.as_bytes().first()? {
                b'-' => (-1, &rest[1..]),
                b'+' => (1, &rest[1..]),
                _ => return None,
            };
            let unit = rest.chars().last()?;
            let n: i64 = rest[..rest.len() - unit.len_utf8()].parse().ok()?;
            let secs = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                'M' => 30 * 86_400,
                'y' => 365 * 86_400,
                _ => return None,
            };
            return now.checked_add(sign * n.checked_mul(secs)?);
        }
        if let Ok(ts) = t.parse::<jiff::Timestamp>() {
            return Some(ts.as_second());
        }
        let spaced = t.replacen(' ', "T", 1);
        if let Ok(dt) = spaced.parse::<jiff::civil::DateTime>() {
            return dt
                .to_zoned(jiff::tz::TimeZone::UTC)
                .ok()
                .map(|z| z.timestamp().as_second());
        }
        if let Ok(d) = t.parse::<jiff::civil::Date>() {
            return d
                .to_zoned(jiff::tz::TimeZone::UTC)
                .ok()
                .map(|z| z.timestamp().as_second());
        }
        None
    }
}

/// Why a filter was refused, in words for the API's error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NqlError(pub String);

impl fmt::Display for NqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NqlError {}

/// Parses a filter.
pub fn parse(input: &str) -> Result<Expr, NqlError> {
    if input.len() > MAX_LEN {
        return Err(NqlError(format!(
            "the filter is longer than {MAX_LEN} characters"
        )));
    }
    let mut p = Parser {
        s: input.as_bytes(),
        text: input,
        i: 0,
        depth: 0,
        tests: 0,
    };
    let e = p.or()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(p.error("unexpected character"));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth: usize,
    tests: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> NqlError {
        let near: String = self.text[self.i.min(self.text.len())..]
            .chars()
            .take(20)
            .collect();
        if near.is_empty() {
            NqlError(format!("{what} at the end of the filter"))
        } else {
            NqlError(format!("{what} at {:?}", near))
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Skips whitespace; says whether there was any.
    fn ws(&mut self) -> bool {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
        self.i > start
    }

    fn or(&mut self) -> Result<Expr, NqlError> {
        let mut items = vec![self.and()?];
        loop {
            self.ws();
            if self.eat(b',') {
                items.push(self.and()?);
            } else {
                break;
            }
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, NqlError> {
        let mut items = vec![self.unary()?];
        loop {
            let spaced = self.ws();
            let joined = self.eat(b'+')
                || spaced && self.peek().is_some_and(|c| c == b'(' || is_field_byte(c));
            if !joined {
                break;
            }
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, NqlError> {
        self.ws();
        if self.eat(b'(') {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(NqlError(format!(
                    "the filter nests deeper than {MAX_DEPTH} parentheses"
                )));
            }
            let e = self.or()?;
            self.ws();
            if !self.eat(b')') {
                return Err(self.error("expected ')'"));
            }
            self.depth -= 1;
            return Ok(e);
        }
        self.test().map(Expr::Test)
    }

    fn test(&mut self) -> Result<Test, NqlError> {
        let start = self.i;
        while self.peek().is_some_and(is_field_byte) {
            self.i += 1;
        }
        if self.i == start {
            return Err(self.error("expected a field name"));
        }
        let field = self.text[start..self.i].to_string();
        self.ws();
        if !self.eat(b':') {
            return Err(self.error("expected ':' after the field name"));
        }
        self.tests += 1;
        if self.tests > MAX_TESTS {
            return Err(NqlError(format!(
                "the filter has more than {MAX_TESTS} tests"
            )));
        }
        self.ws();
        let not = self.eat(b'-');
        let op = if self.peek() == Some(b'[') {
            if not {
                Op::NotIn
            } else {
                Op::In
            }
        } else if self.eat(b'~') {
            match (self.eat(b'^'), self.eat(b'$'), not) {
                (true, _, false) => Op::StartsWith,
                (true, _, true) => Op::NotStartsWith,
                (_, true, false) => Op::EndsWith,
                (_, true, true) => Op::NotEndsWith,
                (_, _, false) => Op::Contains,
                (_, _, true) => Op::NotContains,
            }
        } else if self.peek() == Some(b'>') || self.peek() == Some(b'<') {
            if not {
                return Err(self.error("'-' cannot negate a comparison"));
            }
            let gt = self.eat(b'>');
            if !gt {
                self.i += 1;
            }
            match (gt, self.eat(b'=')) {
                (true, false) => Op::Gt,
                (true, true) => Op::Ge,
                (false, false) => Op::Lt,
                (false, true) => Op::Le,
            }
        } else if not {
            Op::Ne
        } else {
            Op::Eq
        };
        self.ws();
        let values = if matches!(op, Op::In | Op::NotIn) {
            self.i += 1; // the '['
            let mut values = Vec::new();
            loop {
                self.ws();
                values.push(self.value()?);
                if values.len() > MAX_LIST {
                    return Err(NqlError(format!(
                        "a list in the filter has more than {MAX_LIST} values"
                    )));
                }
                self.ws();
                if self.eat(b',') {
                    continue;
                }
                if self.eat(b']') {
                    break;
                }
                return Err(self.error("expected ',' or ']' in a list"));
            }
            values
        } else {
            vec![self.value()?]
        };
        Ok(Test { field, op, values })
    }

    fn value(&mut self) -> Result<Value, NqlError> {
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => {
                self.i += 1;
                let mut text = String::new();
                loop {
                    let Some(c) = self.text[self.i..].chars().next() else {
                        return Err(self.error("a quoted value is not closed"));
                    };
                    self.i += c.len_utf8();
                    if c == '\\' {
                        let Some(next) = self.text[self.i..].chars().next() else {
                            return Err(self.error("a quoted value is not closed"));
                        };
                        self.i += next.len_utf8();
                        text.push(next);
                    } else if c as u32 == u32::from(q) {
                        break;
                    } else {
                        text.push(c);
                    }
                }
                Ok(Value { text, quoted: true })
            }
            _ => {
                let start = self.i;
                while let Some(c) = self.text[self.i..].chars().next() {
                    if c.is_whitespace() || "'\"+,()[]".contains(c) {
                        break;
                    }
                    self.i += c.len_utf8();
                }
                if self.i == start {
                    return Err(self.error("expected a value"));
                }
                Ok(Value {
                    text: self.text[start..self.i].to_string(),
                    quoted: false,
                })
            }
        }
    }
}

fn is_field_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
}

/// Every test in a filter, depth first (for checking fields up front).
pub fn tests(e: &Expr) -> Vec<&Test> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Test(t) => out.push(t),
            Expr::And(items) | Expr::Or(items) => stack.extend(items.iter()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(field: &str, op: Op, values: &[&str]) -> Expr {
        Expr::Test(Test {
            field: field.into(),
            op,
            values: values
                .iter()
                .map(|v| Value {
                    text: v.to_string(),
                    quoted: false,
                })
                .collect(),
        })
    }

    #[test]
    fn equality_negation_and_lists() {
        assert_eq!(parse("tag:news").unwrap(), t("tag", Op::Eq, &["news"]));
        assert_eq!(parse("tag:-news").unwrap(), t("tag", Op::Ne, &["news"]));
        assert_eq!(
            parse("tag:[news, opinion]").unwrap(),
            t("tag", Op::In, &["news", "opinion"])
        );
        assert_eq!(
            parse("tag:-[a,b]").unwrap(),
            t("tag", Op::NotIn, &["a", "b"])
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let e = parse("tag:a+featured:true,tag:b").unwrap();
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::And(vec![
                    t("tag", Op::Eq, &["a"]),
                    t("featured", Op::Eq, &["true"])
                ]),
                t("tag", Op::Eq, &["b"]),
            ])
        );
        let e = parse("tag:a+(featured:true,tag:b)").unwrap();
        assert_eq!(
            e,
            Expr::And(vec![
                t("tag", Op::Eq, &["a"]),
                Expr::Or(vec![
                    t("featured", Op::Eq, &["true"]),
                    t("tag", Op::Eq, &["b"])
                ]),
            ])
        );
        // A form-decoded '+' is a space.
        assert_eq!(
            parse("tag:a featured:true").unwrap(),
            parse("tag:a+featured:true").unwrap()
        );
    }

    #[test]
    fn comparisons_and_quoted_dates() {
        let e = parse("published_at:>'2024-05-01 08:30:00'").unwrap();
        let Expr::Test(test) = e else { panic!() };
        assert_eq!(test.op, Op::Gt);
        assert!(test.values[0].quoted);
        assert_eq!(test.values[0].as_time(0), Some(1_714_552_200));
        assert_eq!(
            parse("published_at:<=now-1d").unwrap(),
            t("published_at", Op::Le, &["now-1d"])
        );
        let v = Value {
            text: "now-1d".into(),
            quoted: false,
        };
        assert_eq!(v.as_time(100_000), Some(100_000 - 86_400));
        let v = Value {
            text: "2024-05-01T08:30:00.000Z".into(),
            quoted: true,
        };
        assert_eq!(v.as_time(0), Some(1_714_552_200));
        let v = Value {
            text: "2024-05-01".into(),
            quoted: false,
        };
        assert_eq!(v.as_time(0), Some(1_714_521_600));
        assert!(parse("published_at:->1").is_err());
    }

    #[test]
    fn contains_family_and_escapes() {
        assert_eq!(
            parse("title:~'it\\'s'").unwrap(),
            Expr::Test(Test {
                field: "title".into(),
                op: Op::Contains,
                values: vec![Value {
                    text: "it's".into(),
                    quoted: true
                }],
            })
        );
        let Expr::Test(x) = parse("slug:-~^draft").unwrap() else {
            panic!()
        };
        assert_eq!(x.op, Op::NotStartsWith);
        let Expr::Test(x) = parse("slug:~$end").unwrap() else {
            panic!()
        };
        assert_eq!(x.op, Op::EndsWith);
    }

    #[test]
    fn malformed_and_oversized_filters_are_refused() {
        for bad in [
            "",
            "tag",
            "tag:",
            ":x",
            "tag:a+",
            "(tag:a",
            "tag:a)",
            "tag:[a,b",
            "tag:'open",
            "tag:a,,tag:b",
            "tag:[]",
            "a:b c",
            "tag:a+(",
            "ü:x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = format!(
            "{}tag:a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert!(parse(&deep).unwrap_err().0.contains("nests"));
        let ok = format!("{}tag:a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let many = vec!["tag:a"; MAX_TESTS + 1].join("+");
        assert!(parse(&many).unwrap_err().0.contains("tests"));
        let list = format!("tag:[{}]", vec!["a"; MAX_LIST + 1].join(","));
        assert!(parse(&list).is_err());
        assert!(parse(&"x".repeat(MAX_LEN + 1)).is_err());
    }

    #[test]
    fn tests_walks_every_test() {
        let e = parse("a:1+(b:2,c:3)").unwrap();
        let mut fields: Vec<_> = tests(&e).iter().map(|t| t.field.as_str()).collect();
        fields.sort();
        assert_eq!(fields, ["a", "b", "c"]);
    }
}
