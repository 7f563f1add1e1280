//! A commit's signature and the bytes it signs.

/// The signature of a commit object and the payload it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCommit {
    /// The signature as stored in the `gpgsig` (or `gpgsig-sha256`) header.
    pub signature: String,
    /// The commit object without that header: what was signed.
    pub payload: Vec<u8>,
    /// Committer time, seconds since the epoch (for keys without signature timestamps).
    pub committer_time: Option<i64>,
}

/// Splits a raw commit object (as `git cat-file commit` prints it) into its signature and the
/// signed payload, or None if it has no signature header.
///
/// Like git, every `gpgsig` header counts (the 2011 format wrote one header per signature line,
/// which are joined), continuation lines (starting with a space) belong to their header, and the
/// payload is the object with those header lines removed.
pub fn signed_commit(raw: &[u8]) -> Option<SignedCommit> {
    let header_end = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(raw.len(), |p| p + 1);
    let (headers, body) = raw.split_at(header_end);
    let mut payload = Vec::with_capacity(raw.len());
    let mut signature: Vec<String> = Vec::new();
    let mut in_sig = false;
    let mut committer_time = None;
    for line in headers.split_inclusive(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let trimmed = text.strip_suffix('\n').unwrap_or(&text);
        if let Some(cont) = trimmed.strip_prefix(' ') {
            if in_sig {
                signature.push(cont.to_owned());
                continue;
            }
        } else if let Some(value) = trimmed
            .strip_prefix("gpgsig ")
            .or_else(|| trimmed.strip_prefix("gpgsig-sha256 "))
        {
            in_sig = true;
            signature.push(value.to_owned());
            continue;
        } else {
            in_sig = false;
            if let Some(rest) = trimmed.strip_prefix("committer ") {
                committer_time = rest.rsplit(' ').nth(1).and_then(|t| t.parse::<i64>().ok());
            }
        }
        payload.extend_from_slice(line);
    }
    if signature.is_empty() {
        return None;
    }
    payload.extend_from_slice(body);
    let mut signature = signature.join("\n");
    signature.push('\n');
    Some(SignedCommit {
        signature,
        payload,
        committer_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_the_commit_without_its_signature() {
        let raw = b"tree t\nparent p\nauthor A <a> 1 +0000\ncommitter C <c> 1700000000 +0100\ngpgsig -----BEGIN SSH SIGNATURE-----\n abc\n -----END SSH SIGNATURE-----\n\nmessage\n";
        let s = signed_commit(raw).unwrap();
        assert_eq!(
            s.signature,
            "-----BEGIN SSH SIGNATURE-----\nabc\n-----END SSH SIGNATURE-----\n"
        );
        assert_eq!(s.payload, b"tree t\nparent p\nauthor A <a> 1 +0000\ncommitter C <c> 1700000000 +0100\n\nmessage\n");
        assert_eq!(s.committer_time, Some(1_700_000_000));
        assert!(signed_commit(b"tree t\n\nunsigned\n").is_none());
    }
}
