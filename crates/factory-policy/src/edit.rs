//! Editing a policy's text without losing its comments and layout.

/// A person to add to a policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPerson {
    /// The handle: the `[people.HANDLE]` key.
    pub handle: String,
    /// Their display name.
    pub name: Option<String>,
    /// Their email address.
    pub email: Option<String>,
    /// The roles they hold.
    pub roles: Vec<String>,
    /// Their keys, as the policy writes them (`ssh-ed25519 …`, `openpgp:FPR`).
    pub keys: Vec<String>,
}

/// Why a policy text could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The text is not TOML.
    #[error("the policy is not valid TOML: {0}")]
    Toml(String),
    /// The handle is taken.
    #[error("`{0}` is already a person of the policy: edit their `[people.{0}]` table")]
    Exists(String),
    /// The handle cannot be a TOML bare key.
    #[error("`{0}` is not a valid handle: use letters, digits, `-` and `_`")]
    BadHandle(String),
}

/// `text` with `person` appended as a `[people.HANDLE]` table; the rest of the text is kept as
/// written.
pub fn add_person(text: &str, person: &NewPerson) -> Result<String, EditError> {
    let valid = !person.handle.is_empty()
        && person
            .handle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(EditError::BadHandle(person.handle.clone()));
    }
    let doc: toml_edit::Document<&str> =
        toml_edit::Document::parse(text).map_err(|e| EditError::Toml(e.to_string()))?;
    if doc
        .get("people")
        .and_then(|p| p.as_table_like())
        .is_some_and(|p| p.contains_key(&person.handle))
    {
        return Err(EditError::Exists(person.handle.clone()));
    }
    let q = |s: &str| toml_edit::Value::from(s).to_string().trim().to_owned();
    let list = |items: &[String]| {
        format!(
            "[{}]",
            items.iter().map(|i| q(i)).collect::<Vec<_>>().join(", ")
        )
    };
    let mut out = text.trim_end().to_owned();
    out.push_str(&format!("\n\n[people.{}]\n", person.handle));
    if let Some(name) = &person.name {
        out.push_str(&format!("name = {}\n", q(name)));
    }
    if let Some(email) = &person.email {
        out.push_str(&format!("email = {}\n", q(email)));
    }
    out.push_str(&format!("roles = {}\n", list(&person.roles)));
    out.push_str(&format!("keys = {}\n", list(&person.keys)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_appended_and_the_text_kept() {
        let text = "# mine\nversion = 1\n\n[people.alice]\nroles = [\"maintainer\"]\nkeys = []\n";
        let bob = NewPerson {
            handle: "bob".into(),
            email: Some("bob@example.com".into()),
            roles: vec!["domain-expert".into()],
            keys: vec!["ssh-ed25519 AAAA bob".into()],
            ..NewPerson::default()
        };
        let out = add_person(text, &bob).unwrap();
        assert!(out.starts_with(text.trim_end()));
        assert!(out.ends_with(
            "[people.bob]\nemail = \"bob@example.com\"\nroles = [\"domain-expert\"]\nkeys = [\"ssh-ed25519 AAAA bob\"]\n"
        ));
        let alice = NewPerson {
            handle: "alice".into(),
            ..NewPerson::default()
        };
        assert!(matches!(
            add_person(text, &alice),
            Err(EditError::Exists(_))
        ));
        let bad = NewPerson {
            handle: "a b".into(),
            ..NewPerson::default()
        };
        assert!(matches!(
            add_person(text, &bad),
            Err(EditError::BadHandle(_))
        ));
    }
}
