//! gitignore-style path patterns, compiled for all rules at once.
//!
//! A pattern follows `.gitignore` semantics: a pattern without a slash (other than a trailing one)
//! matches a file or directory of that name at any depth; a pattern with a slash is anchored at
//! the repository root (a leading `/` is optional); a trailing `/` matches only directories, that
//! is, everything below them; `**` crosses directories while `*` and `?` do not; a leading `!`
//! excludes what earlier patterns of the same list included, and the last matching pattern of a
//! list decides.

use globset::{Candidate, Glob, GlobBuilder, GlobSet};

/// How a pattern is matched: most patterns of large policies (CODEOWNERS imports) are literal
/// paths or names, which a hash lookup matches without a glob.
#[derive(Debug, Clone)]
enum Matcher {
    /// An anchored literal path: the candidate (the path or an ancestor) equals it.
    Exact(Box<[u8]>),
    /// An unanchored literal name: the candidate's last component equals it.
    Basename(Box<[u8]>),
    /// An unanchored `*literal*`, `literal*` or `*literal` (not an extension): the candidate's
    /// last component contains, starts or ends with it. Kept out of the glob set, where each
    /// would be a regular expression to compile.
    Name(NameMatch, Box<[u8]>),
    /// An unanchored `*.ext` with one literal extension (no dot in it): a hash lookup of the
    /// name's last extension. (globset's own extension lookup is not used for case-insensitive
    /// globs: it would compile them to regular expressions.)
    Extension(Box<[u8]>),
    /// Any other unanchored name of literals joined by `*` (`test_*.py`, `*pgp*.*`): the
    /// pieces in order, without overlap, the first at the start of the name unless the
    /// pattern opens with `*`, the last at its end unless it closes with one.
    Pieces(Pieces),
    Glob(Glob),
}

/// Literal pieces of a name pattern joined by `*` (see [`Matcher::Pieces`]).
#[derive(Debug, Clone)]
pub(crate) struct Pieces {
    open_start: bool,
    open_end: bool,
    pieces: Vec<Box<[u8]>>,
}

impl Pieces {
    /// `body` as pieces, when it is literals joined by single `*`s with at least two pieces.
    fn of(body: &str) -> Option<Pieces> {
        let (open_start, rest) = body.strip_prefix('*').map_or((false, body), |r| (true, r));
        let (open_end, rest) = rest.strip_suffix('*').map_or((false, rest), |r| (true, r));
        let inner: Vec<&str> = rest.split('*').collect();
        (inner.len() >= 2
            && inner
                .iter()
                .all(|p| !p.is_empty() && is_literal(p) && !p.contains('/')))
        .then(|| Pieces {
            open_start,
            open_end,
            pieces: inner
                .iter()
                .map(|p| p.to_ascii_lowercase().into_bytes().into())
                .collect(),
        })
    }

    /// Whether the name (in ASCII lower case) matches. Leftmost placement of each middle
    /// piece leaves the most room for the rest, so it finds a match when there is one.
    fn matches(&self, name: &[u8]) -> bool {
        let mut rest = name;
        let last = self.pieces.len() - 1;
        for (k, piece) in self.pieces.iter().enumerate() {
            if k == 0 && !self.open_start {
                if !rest.starts_with(piece) {
                    return false;
                }
                rest = &rest[piece.len()..];
            } else if k == last && !self.open_end {
                return rest.ends_with(piece);
            } else {
                match bstr::ByteSlice::find(rest, &piece[..]) {
                    Some(i) => rest = &rest[i + piece.len()..],
                    None => return false,
                }
            }
        }
        true
    }
}

/// How a [`Matcher::Name`] literal sits in a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameMatch {
    Contains,
    Prefix,
    Suffix,
}

impl NameMatch {
    fn matches(self, name: &[u8], literal: &[u8]) -> bool {
        match self {
            NameMatch::Contains => bstr::ByteSlice::find(name, literal).is_some(),
            NameMatch::Prefix => name.starts_with(literal),
            NameMatch::Suffix => name.ends_with(literal),
        }
    }
}

/// `*lit*`, `lit*` or `*lit` with a literal `lit` (no `/`), unless `*lit` is an extension
/// (`*.rs`: [`Matcher::Extension`] looks those up by hash).
fn name_match(body: &str) -> Option<(NameMatch, &str)> {
    let literal = |s: &str| !s.is_empty() && is_literal(s) && !s.contains('/');
    if let Some(inner) = body.strip_prefix('*').and_then(|b| b.strip_suffix('*'))
        && literal(inner)
    {
        return Some((NameMatch::Contains, inner));
    }
    if let Some(rest) = body.strip_prefix('*')
        && literal(rest)
        && (!rest.starts_with('.') || rest[1..].contains('.'))
    {
        return Some((NameMatch::Suffix, rest));
    }
    if let Some(rest) = body.strip_suffix('*')
        && literal(rest)
    {
        return Some((NameMatch::Prefix, rest));
    }
    None
}

fn is_literal(s: &str) -> bool {
    !s.bytes()
        .any(|b| matches!(b, b'*' | b'?' | b'[' | b']' | b'{' | b'}' | b'\\'))
}

/// One pattern of a `paths` list, ready to be added to a [`PathIndex`].
#[derive(Debug, Clone)]
pub(crate) struct PathPattern {
    matcher: Matcher,
    negated: bool,
    /// A trailing `/`: the pattern matches directories only, so only a path's ancestors.
    dir_only: bool,
}

impl PathPattern {
    /// Compiles a gitignore-style pattern, or says why it is not one.
    pub(crate) fn compile(pattern: &str) -> Result<Self, String> {
        let (negated, body) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (
                false,
                pattern
                    .strip_prefix('\\')
                    .filter(|r| r.starts_with('!'))
                    .unwrap_or(pattern),
            ),
        };
        let (dir_only, body) = match body.strip_suffix('/') {
            Some(rest) => (true, rest),
            None => (false, body),
        };
        if body.is_empty() || body == "/" {
            return Err("the pattern is empty".into());
        }
        let anchored = body.contains('/');
        let body = body.strip_prefix('/').unwrap_or(body);
        if body.is_empty() {
            return Err("the pattern is empty".into());
        }
        // Literal fast paths (equivalent because PathIndex::matching tests every ancestor).
        if anchored && is_literal(body) {
            return Ok(PathPattern {
                matcher: Matcher::Exact(body.to_ascii_lowercase().into_bytes().into()),
                negated,
                dir_only,
            });
        }
        if anchored
            && !dir_only
            && let Some(dir) = body
                .strip_suffix("/**")
                .filter(|d| !d.is_empty() && is_literal(d))
        {
            // `dir/**` matches what is strictly below `dir`: `dir` as an ancestor.
            return Ok(PathPattern {
                matcher: Matcher::Exact(dir.to_ascii_lowercase().into_bytes().into()),
                negated,
                dir_only: true,
            });
        }
        if !anchored && is_literal(body) {
            return Ok(PathPattern {
                matcher: Matcher::Basename(body.to_ascii_lowercase().into_bytes().into()),
                negated,
                dir_only,
            });
        }
        if !anchored
            && let Some(ext) = body.strip_prefix("*.")
            && !ext.is_empty()
            && is_literal(ext)
            && !ext.contains(['.', '/'])
        {
            return Ok(PathPattern {
                matcher: Matcher::Extension(ext.to_ascii_lowercase().into_bytes().into()),
                negated,
                dir_only,
            });
        }
        if !anchored && let Some((how, lit)) = name_match(body) {
            return Ok(PathPattern {
                matcher: Matcher::Name(how, lit.to_ascii_lowercase().into_bytes().into()),
                negated,
                dir_only,
            });
        }
        if !anchored && let Some(pieces) = Pieces::of(body) {
            return Ok(PathPattern {
                matcher: Matcher::Pieces(pieces),
                negated,
                dir_only,
            });
        }
        // Validate the pattern as written, so that errors name what the user wrote.
        let validate = || {
            GlobBuilder::new(body)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map(drop)
                .map_err(|e| e.kind().to_string())
        };
        let base = if anchored {
            body.to_owned()
        } else {
            format!("**/{body}")
        };
        // One glob per pattern: a file is matched by testing its path and each of its parent
        // directories (see PathIndex::matching), which is how git applies .gitignore, instead
        // of adding a `…/**` glob per pattern (those compile to regular expressions, and made
        // compiling a policy cost more than judging a commit).
        let glob = GlobBuilder::new(&base)
            .case_insensitive(true)
            .literal_separator(true)
            .backslash_escape(true)
            .empty_alternates(true)
            .build()
            .map_err(|e| validate().err().unwrap_or_else(|| e.kind().to_string()))?;
        Ok(PathPattern {
            matcher: Matcher::Glob(glob),
            negated,
            dir_only,
        })
    }
}

/// All `paths` lists of a policy in one glob set, so that a path is matched once per file.
#[derive(Debug, Clone)]
pub(crate) struct PathIndex {
    set: GlobSet,
    /// For each pattern: (list id, pattern position in its list, negated, dir only).
    owners: Vec<(usize, usize, bool, bool)>,
    /// For each glob of the set, its pattern (index in `owners`).
    glob_owner: Vec<u32>,
    exact: std::collections::HashMap<Box<[u8]>, Vec<u32>>,
    basename: std::collections::HashMap<Box<[u8]>, Vec<u32>>,
    /// `*.ext` patterns by extension.
    extension: std::collections::HashMap<Box<[u8]>, Vec<u32>>,
    names: Vec<(NameMatch, Box<[u8]>, u32)>,
    /// The `*literal*` patterns in one automaton, and the pattern id of each literal: a name
    /// is searched once for all of them.
    contains: Option<(aho_corasick::AhoCorasick, Vec<u32>)>,
    pieces: Vec<(Pieces, u32)>,
    lists: usize,
}

/// Reusable buffers for [`PathIndex::matching`].
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    hits: Vec<usize>,
    /// The path in ASCII lower case, for the literal lookups.
    lower: Vec<u8>,
    last: Vec<Option<(usize, bool)>>,
}

impl PathIndex {
    /// Builds the index from lists of compiled patterns; list `i` is reported at position `i`.
    pub(crate) fn build(lists: Vec<Vec<PathPattern>>) -> Result<Self, globset::Error> {
        let n_lists = lists.len();
        let mut owners = Vec::new();
        let mut glob_owner = Vec::new();
        let mut globs = Vec::new();
        let mut exact: std::collections::HashMap<Box<[u8]>, Vec<u32>> = Default::default();
        let mut basename: std::collections::HashMap<Box<[u8]>, Vec<u32>> = Default::default();
        let mut extension: std::collections::HashMap<Box<[u8]>, Vec<u32>> = Default::default();
        let mut names = Vec::new();
        let mut pieces = Vec::new();
        for (list, patterns) in lists.into_iter().enumerate() {
            for (pos, pattern) in patterns.into_iter().enumerate() {
                let id = owners.len() as u32;
                owners.push((list, pos, pattern.negated, pattern.dir_only));
                match pattern.matcher {
                    Matcher::Exact(k) => exact.entry(k).or_default().push(id),
                    Matcher::Basename(k) => basename.entry(k).or_default().push(id),
                    Matcher::Extension(k) => extension.entry(k).or_default().push(id),
                    Matcher::Name(how, k) => names.push((how, k, id)),
                    Matcher::Pieces(p) => pieces.push((p, id)),
                    Matcher::Glob(g) => {
                        glob_owner.push(id);
                        globs.push(g);
                    }
                }
            }
        }
        let set = GlobSet::new(&globs)?;
        drop(globs);
        let (inside, names): (Vec<_>, Vec<_>) = names
            .into_iter()
            .partition(|(how, _, _)| *how == NameMatch::Contains);
        let contains = if inside.is_empty() {
            None
        } else {
            let literals: Vec<&[u8]> = inside.iter().map(|(_, k, _)| &k[..]).collect();
            aho_corasick::AhoCorasick::new(literals)
                .ok()
                .map(|ac| (ac, inside.iter().map(|(_, _, id)| *id).collect()))
        };
        Ok(PathIndex {
            set,
            owners,
            glob_owner,
            exact,
            basename,
            extension,
            names,
            contains,
            pieces,
            lists: n_lists,
        })
    }

    /// Sets `out[i]` to whether list `i` includes `path` (a `/`-separated repository path).
    ///
    /// A pattern matches a path when it matches the path itself (unless it names directories
    /// only) or one of its parent directories; the last matching pattern of a list decides.
    pub(crate) fn matching(&self, path: &[u8], scratch: &mut Scratch, out: &mut Vec<bool>) {
        out.clear();
        out.resize(self.lists, false);
        scratch.last.clear();
        scratch.last.resize(self.lists, None);
        // Paths match case-insensitively (ASCII): on a case-insensitive checkout `src/Auth/x.rs`
        // is the file `src/auth/x.rs`, and a rule must not be dodged by a spelling.
        scratch.lower.clear();
        scratch
            .lower
            .extend(path.iter().map(u8::to_ascii_lowercase));
        let ends = path
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'/')
            .map(|(i, _)| (i, true))
            .chain(std::iter::once((path.len(), false)));
        for (end, ancestor) in ends {
            if end == 0 {
                continue;
            }
            let cand = &path[..end];
            let candidate = Candidate::from_bytes(cand);
            self.set
                .matches_candidate_into(&candidate, &mut scratch.hits);
            for hit in scratch.hits.iter_mut() {
                *hit = self.glob_owner[*hit] as usize;
            }
            let lower = &scratch.lower[..end];
            if let Some(ids) = self.exact.get(lower) {
                scratch.hits.extend(ids.iter().map(|&i| i as usize));
            }
            let name = lower.rsplit(|&b| b == b'/').next().unwrap_or(lower);
            if let Some(ids) = self.basename.get(name) {
                scratch.hits.extend(ids.iter().map(|&i| i as usize));
            }
            if !self.extension.is_empty()
                && let Some(dot) = name.iter().rposition(|&b| b == b'.')
                && let Some(ids) = self.extension.get(&name[dot + 1..])
            {
                scratch.hits.extend(ids.iter().map(|&i| i as usize));
            }
            for (how, literal, id) in &self.names {
                if how.matches(name, literal) {
                    scratch.hits.push(*id as usize);
                }
            }
            if let Some((ac, ids)) = &self.contains {
                for m in ac.find_overlapping_iter(name) {
                    scratch.hits.push(ids[m.pattern().as_usize()] as usize);
                }
            }
            for (p, id) in &self.pieces {
                if p.matches(name) {
                    scratch.hits.push(*id as usize);
                }
            }
            for &hit in &scratch.hits {
                let (list, pos, negated, dir_only) = self.owners[hit];
                if dir_only && !ancestor {
                    continue;
                }
                match scratch.last[list] {
                    Some((p, _)) if p >= pos => {}
                    _ => scratch.last[list] = Some((pos, negated)),
                }
            }
        }
        for (list, last) in scratch.last.iter().enumerate() {
            out[list] = matches!(last, Some((_, false)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn includes(patterns: &[&str], path: &str) -> bool {
        let list: Vec<_> = patterns
            .iter()
            .map(|p| PathPattern::compile(p).unwrap())
            .collect();
        let index = PathIndex::build(vec![list]).unwrap();
        let mut out = Vec::new();
        index.matching(path.as_bytes(), &mut Scratch::default(), &mut out);
        out[0]
    }

    #[test]
    fn paths_match_whatever_their_case() {
        for path in ["SRC/AUTH/x.rs", "src/Auth/x.rs", "src/auth/x.rs"] {
            assert!(includes(&["src/auth/**"], path), "{path}");
            assert!(includes(&["/src/auth"], path), "{path}");
            assert!(includes(&["auth"], path), "{path}");
            assert!(includes(&["src/*/x.rs"], path), "{path}");
        }
        assert!(includes(&["*.pem"], "keys/Server.PEM"));
        assert!(includes(&[".env"], "app/.ENV"));
        assert!(!includes(&["src/auth/**"], "src/authz/x.rs"));
    }

    #[test]
    fn name_literals_match_as_their_globs_would() {
        // The `*lit*`, `lit*`, `*lit` and pieces fast paths against the same pattern as a glob.
        let patterns = [
            "*auth*",
            "*crypto*",
            "LICENSE*",
            "*_test.go",
            "*-test/",
            "*Test.java",
            "*.rs",
            "test_*.py",
            "requirements*.txt",
            "a*a",
            "*pgp*.*",
            "*a*a*",
            "a*b*c",
            "ab*ba*",
            "*x*y",
            "*.tar.gz",
            "*.RS",
            "*.h",
        ];
        let paths = [
            "tests/test_x.py",
            "test_.py",
            "test.py",
            "requirements-dev.txt",
            "x/a",
            "x/aa",
            "x/aba",
            "src/auth.rs",
            "src/Authz/x.go",
            "x/oauth/y.c",
            "LICENSE-MIT",
            "docs/license.txt",
            "pkg/a_test.go",
            "pkg/a_test.go.orig",
            "rustls-test/src/lib.rs",
            "src/MyTest.java",
            "crypto/aes.c",
            "lib/CRYPTO.h",
            "a/b/c",
            "rustls-tests/x.rs",
            "author.txt",
            "openpgp/src/fmt.rs",
            "src/pgp.rs",
            "x/PGP-keys.TXT",
            "x/pgp",
            "x/aa",
            "x/aaa",
            "x/abc",
            "x/ac",
            "x/abbc",
            "x/abba",
            "x/aba",
            "x/abxba",
            "x/xy",
            "x/yx",
            "x/xyy",
            "a.b.rs",
            ".rs",
            "x.rs/y",
            "a.tar.gz",
            "a.gz",
            "lib/x.H",
            "lib/h",
        ];
        for pattern in patterns {
            let body = pattern.trim_end_matches('/');
            let glob = GlobBuilder::new(&format!("**/{body}"))
                .case_insensitive(true)
                .literal_separator(true)
                .build()
                .unwrap()
                .compile_matcher();
            for path in paths {
                let dir_only = pattern.ends_with('/');
                let mut expected = false;
                for (i, _) in path.match_indices('/').chain([(path.len(), "")]) {
                    let is_ancestor = i < path.len();
                    if (!dir_only || is_ancestor) && glob.is_match(&path[..i]) {
                        expected = true;
                    }
                }
                assert_eq!(includes(&[pattern], path), expected, "{pattern} on {path}");
            }
        }
    }

    #[test]
    fn basename_patterns_match_at_any_depth() {
        assert!(includes(&["*.md"], "README.md"));
        assert!(includes(&["*.md"], "docs/guide/intro.md"));
        assert!(!includes(&["*.md"], "docs/guide/intro.mdx"));
        assert!(
            includes(&["docs"], "a/docs/x.txt"),
            "a name matches directories too"
        );
    }

    #[test]
    fn slashes_anchor_at_the_root() {
        assert!(includes(&["src/auth"], "src/auth/login.rs"));
        assert!(!includes(&["src/auth"], "lib/src/auth/login.rs"));
        assert!(includes(&["/Makefile"], "Makefile"));
        assert!(!includes(&["/Makefile"], "sub/Makefile"));
        assert!(includes(&["**/auth/**"], "lib/src/auth/login.rs"));
    }

    #[test]
    fn star_does_not_cross_directories() {
        assert!(includes(&["src/*.rs"], "src/main.rs"));
        assert!(!includes(&["src/*.rs"], "src/a/main.rs"));
    }

    #[test]
    fn trailing_slash_means_directory_only() {
        assert!(includes(&["build/"], "x/build/out.o"));
        assert!(!includes(&["build/"], "x/build"));
    }

    #[test]
    fn last_match_wins_with_negation() {
        let p = ["docs/**", "!docs/api/**", "docs/api/README.md"];
        assert!(includes(&p, "docs/intro.md"));
        assert!(!includes(&p, "docs/api/openapi.yaml"));
        assert!(includes(&p, "docs/api/README.md"));
    }

    #[test]
    fn non_utf8_paths_are_matched_as_bytes() {
        let list = vec![PathPattern::compile("data/**").unwrap()];
        let index = PathIndex::build(vec![list]).unwrap();
        let mut out = Vec::new();
        index.matching(b"data/\xff\xfe.bin", &mut Scratch::default(), &mut out);
        assert!(out[0]);
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(PathPattern::compile("src/[a-").is_err());
        assert!(PathPattern::compile("!").is_err());
        assert!(PathPattern::compile("/").is_err());
    }
}
