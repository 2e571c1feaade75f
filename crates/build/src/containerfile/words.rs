//! Small lexing helpers: word splitting that keeps quotes, leading
//! `--flags`, JSON arrays, Go durations.

use std::time::Duration;

/// Splits on whitespace outside quotes; quotes and escapes are kept in the
/// words (they are removed when a word is expanded).
pub(crate) fn split_words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if in_word {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
            continue;
        }
        in_word = true;
        word.push(c);
        match quote {
            Some(q) if c == q => quote = None,
            Some('\'') => {}
            _ if c == escape => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            None if c == '\'' || c == '"' => quote = Some(c),
            _ => {}
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The leading `--flag[=value]` words of `rest` (quotes removed, as Docker
/// does) and the text after them. `--` alone ends the flags.
pub(crate) fn split_flags(rest: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut pos = 0;
    loop {
        let after = &rest[pos..];
        let trimmed = after.trim_start();
        pos += after.len() - trimmed.len();
        if !trimmed.starts_with("--") {
            return (flags, &rest[pos..]);
        }
        let (word, len) = flag_word(trimmed);
        pos += len;
        if word == "--" {
            return (flags, rest[pos..].trim_start());
        }
        flags.push(word);
    }
}

/// One flag word: up to unquoted whitespace; quotes dropped, `\x` -> `x`.
fn flag_word(text: &str) -> (String, usize) {
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => return (word, i),
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (_, '\\') if quote != Some('\'') => {
                if let Some((_, n)) = iter.next() {
                    word.push(n);
                }
            }
            _ => word.push(c),
        }
    }
    (word, text.len())
}

/// `["a", "b"]` as strings, when `text` starts with a JSON array of
/// strings (like Docker, text after the array is ignored); `Ok(None)` when
/// it is no JSON array (shell form); `Err` when it is an array with
/// something else than strings in it.
pub(crate) fn parse_json_array(text: &str) -> Result<Option<Vec<String>>, NotStrings> {
    let t = text.trim();
    if !t.starts_with('[') {
        return Ok(None);
    }
    let mut values = serde_json::Deserializer::from_str(t).into_iter::<serde_json::Value>();
    let Some(Ok(serde_json::Value::Array(items))) = values.next() else {
        return Ok(None);
    };
    items
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(NotStrings),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A JSON array with something else than strings in it.
#[derive(Debug)]
pub(crate) struct NotStrings;

/// A Go duration (`1m30s`, `500ms`, `1.5h`, `0`).
pub(crate) fn parse_go_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    Duration::try_from_secs_f64(total).ok()
}
