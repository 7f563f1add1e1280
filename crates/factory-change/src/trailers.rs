//! Commit message trailers (`Key: value` lines in the last paragraph).

/// One `Key: value` trailer of a commit message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    /// The key as written, e.g. `Agent`.
    pub key: String,
    /// The value, with continuation lines joined by a single space.
    pub value: String,
}

fn trailer_key(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let valid = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then(|| (key, value.trim()))
}

/// Parses the trailers of a commit message the way `git interpret-trailers` finds them: the last
/// paragraph, when it is not the subject and each of its lines is a `Key: value` trailer or a
/// continuation line (starting with whitespace).
pub fn parse_trailers(message: &str) -> Vec<Trailer> {
    let trimmed = message.trim_end();
    let Some(start) = trimmed.rfind("\n\n") else {
        return Vec::new();
    };
    let paragraph = &trimmed[start + 2..];
    let mut out: Vec<Trailer> = Vec::new();
    for line in paragraph.lines() {
        if line.starts_with([' ', '\t']) {
            match out.last_mut() {
                Some(last) => {
                    last.value.push(' ');
                    last.value.push_str(line.trim());
                }
                None => return Vec::new(),
            }
        } else if let Some((key, value)) = trailer_key(line) {
            out.push(Trailer {
                key: key.to_owned(),
                value: value.to_owned(),
            });
        } else {
            return Vec::new();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_trailers_in_last_paragraph() {
        let t = parse_trailers(
            "Add login\n\nBody text.\n\nAgent: claude-code/1.0\nRequested-By: alice\n  continued\n",
        );
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].key, "Agent");
        assert_eq!(t[0].value, "claude-code/1.0");
        assert_eq!(t[1].value, "alice continued");
    }

    #[test]
    fn subject_alone_has_no_trailers() {
        assert!(parse_trailers("Agent: x\n").is_empty());
    }

    #[test]
    fn prose_paragraph_is_not_trailers() {
        assert!(
            parse_trailers("Subject\n\nThis is prose: not a trailer block\nreally.\n").is_empty()
        );
    }
}
