//! The layers of `src/` import only downward.
//!
//! The order of the `mod` declarations in `src/lib.rs` is the layering, bottom first: a module
//! may use the modules declared before it, and its own, never one declared after it. This test
//! reads every file under `src/` and fails, naming the file and the line, for each path that
//! reaches up: `crate::<layer>`, `crate::{<layer>, ...}`, or a `super::` that climbs out of its
//! layer to the crate root. Comments are not code and are skipped.
//!
//! It needs nothing but the files, so it also runs against any other tree:
//! `LAYERING_SRC=/some/checkout/src cargo test --test layering`.

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
};

/// An upward reference: where, and what.
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// The top-level modules of `lib.rs`, in order: their rank is their index.
fn layers(lib: &str) -> Vec<String> {
    lib.lines()
        .map(str::trim)
        .filter_map(|line| {
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            Some(rest.strip_suffix(';')?.trim().to_owned())
        })
        .collect()
}

/// The line without its comment; a `//` inside a string literal is not a comment.
fn code_of(line: &str) -> &str {
    let mut in_string = false;
    let mut previous = ' ';
    let mut chars = line.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            // The character literal '"' opens no string.
            '\'' if !in_string && line[at..].starts_with("'\"'") => {
                chars.next();
                chars.next();
                previous = '\'';
                continue;
            }
            '"' if previous != '\\' => in_string = !in_string,
            '/' if !in_string && previous == '/' => return &line[..at - 1],
            _ => {}
        }
        previous = c;
    }
    line
}

/// The first identifier at the start of `text`.
fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Reads paths that start at the crate root, line by line: `crate::`, and `super::` climbed as
/// often as the file is deep (`climb`). A `{...}` group may go on over several lines, and each
/// of its items is reported on the line where it stands.
#[derive(Default)]
struct CrateReferences {
    /// Inside a group: how deep in nested braces, and whether the next name starts an item.
    group: Option<(i32, bool)>,
    /// `super::` as many times as it takes to reach the crate root from this file.
    climb: String,
}

impl CrateReferences {
    /// The top-level modules this line of code names through `crate::`.
    fn scan(&mut self, code: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut text = code;
        loop {
            if let Some((mut depth, mut item_start)) = self.group {
                let mut closed_at = None;
                for (at, c) in text.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            closed_at = Some(at);
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && depth == 0 && !c.is_whitespace() => {
                            let head = identifier(&text[at..]);
                            if !head.is_empty() && head != "self" {
                                found.push(head.to_owned());
                            }
                            item_start = false;
                        }
                        _ => {}
                    }
                }
                match closed_at {
                    Some(at) => {
                        self.group = None;
                        text = &text[at + 1..];
                    }
                    None => {
                        self.group = Some((depth, item_start));
                        return found;
                    }
                }
            }
            let by_crate = text.find("crate::").map(|at| (at, "crate::".len()));
            let by_super = (!self.climb.is_empty())
                .then(|| text.find(&self.climb))
                .flatten()
                .map(|at| (at, self.climb.len()));
            let Some((at, length)) = [by_crate, by_super].into_iter().flatten().min() else {
                return found;
            };
            let preceded_by_path = text[..at]
                .ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':' || c == '$');
            let mut after = &text[at + length..];
            text = after;
            if preceded_by_path {
                // `$crate::` in a macro, `other_crate::`, or a `super::` that climbs less.
                continue;
            }
            while let Some(more) = after.strip_prefix("super::") {
                after = more;
            }
            if let Some(group) = after.strip_prefix('{') {
                self.group = Some((0, true));
                text = group;
            } else {
                found.push(identifier(after).to_owned());
            }
        }
    }
}

/// How many `super::` it takes to reach the crate root from this file: a file's module depth.
fn depth(relative: &Path) -> usize {
    let parts: Vec<String> = relative
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    let last = parts.last().map(String::as_str).unwrap_or_default();
    if last == "mod.rs" {
        parts.len() - 1
    } else {
        parts.len()
    }
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("a readable source folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

/// Every upward reference in the tree `src`.
fn violations(src: &Path) -> Vec<Violation> {
    let lib = fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let order = layers(&lib);
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(index, name)| (name.as_str(), index))
        .collect();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for path in files {
        let relative = path.strip_prefix(src).expect("under src");
        let top = relative
            .iter()
            .next()
            .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
            .unwrap_or_default();
        // lib.rs and main.rs sit above every layer.
        let Some(&own_rank) = rank.get(top.as_str()) else {
            if top != "lib" && top != "main" {
                found.push(Violation {
                    file: relative.display().to_string(),
                    line: 0,
                    from: top,
                    to: "(not declared in lib.rs: no layer)".into(),
                });
            }
            continue;
        };
        let text = fs::read_to_string(&path).expect("a readable source file");
        let mut references = CrateReferences {
            group: None,
            climb: "super::".repeat(depth(relative)),
        };
        for (index, line) in text.lines().enumerate() {
            let names = references.scan(code_of(line));
            for name in names {
                if rank.get(name.as_str()).is_some_and(|&to| to > own_rank) {
                    found.push(Violation {
                        file: relative.display().to_string(),
                        line: index + 1,
                        from: top.clone(),
                        to: name,
                    });
                }
            }
        }
    }
    found
}

#[test]
fn every_layer_imports_only_the_layers_below_it() {
    let src = std::env::var_os("LAYERING_SRC").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        PathBuf::from,
    );
    let found = violations(&src);
    let report: Vec<String> = found
        .iter()
        .map(|v| {
            format!(
                "src/{}:{}: `{}` reaches up to `{}`",
                v.file, v.line, v.from, v.to
            )
        })
        .collect();
    assert!(
        found.is_empty(),
        "layers import only downward (the order of src/lib.rs), but:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_checker_finds_each_kind_of_upward_reference() {
    let dir = std::env::temp_dir().join(format!("layering-{}", std::process::id()));
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod low;\nmod high;\n");
    write(
        "low/mod.rs",
        "use crate::high::Thing;\n// crate::high in a comment is fine\nlet url = \"http://x\"; // crate::high\n",
    );
    write(
        "low/deep/inner.rs",
        "use crate::{\n    low::a,\n    high::b,\n};\nuse super::super::super::high::c;\nuse super::super::sibling;\nlet q = '\"'; use crate::high::d;\nuse super::super::super::{\n    low::e,\n    high::f,\n};\n",
    );
    write("high.rs", "use crate::low::Thing;\nuse super::low;\n");
    write("stray.rs", "");
    let found = violations(&dir);
    fs::remove_dir_all(&dir).unwrap();
    let at: Vec<(String, usize, String)> =
        found.into_iter().map(|v| (v.file, v.line, v.to)).collect();
    assert_eq!(
        at,
        vec![
            ("low/deep/inner.rs".into(), 3, "high".into()),
            ("low/deep/inner.rs".into(), 5, "high".into()),
            ("low/deep/inner.rs".into(), 7, "high".into()),
            ("low/deep/inner.rs".into(), 10, "high".into()),
            ("low/mod.rs".into(), 1, "high".into()),
            (
                "stray.rs".into(),
                0,
                "(not declared in lib.rs: no layer)".into()
            ),
        ]
    );
}
