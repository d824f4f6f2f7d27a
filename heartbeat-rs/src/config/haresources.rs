//! `/etc/ha.d/haresources`: one resource group per logical line.
//!
//! `node res1 res2 ...`; a trailing `\` continues the line; `#` starts a
//! comment anywhere (ResourceManager strips `#.*`). The first resource of a
//! line is the group key. An argument-less token that looks like an IPv4
//! address (the shell glob `[0-9]*.[0-9]*.[0-9]*.[0-9]*`) means
//! `IPaddr::<token>`; `script::a::b` passes `a b` before the operation.

use crate::log::{Diag, Level, Location};

/// One resource of a group, as written and as it will be run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// The token as written (used in logs and as group key).
    pub spec: String,
    pub script: String,
    pub args: Vec<String>,
}

impl Resource {
    pub fn parse(spec: &str) -> Resource {
        let mut parts = spec.split("::");
        let first = parts.next().unwrap_or("");
        let rest: Vec<String> = parts.map(str::to_string).collect();
        if rest.is_empty() && is_ip(first) {
            return Resource {
                spec: spec.to_string(),
                script: "IPaddr".to_string(),
                args: vec![first.to_string()],
            };
        }
        Resource {
            spec: spec.to_string(),
            script: first.to_string(),
            args: rest,
        }
    }
}

/// ResourceManager's `isip`: the glob `[0-9]*.[0-9]*.[0-9]*.[0-9]*`.
pub fn is_ip(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first().is_none_or(|c| !c.is_ascii_digit()) {
        return false;
    }
    // After the leading digit we need three ".<digit>" pairs, in order,
    // anywhere (glob `*` matches anything in between).
    let mut need = 3;
    let mut i = 1;
    while need > 0 && i + 1 < b.len() {
        if b[i] == b'.' && b[i + 1].is_ascii_digit() {
            need -= 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    need == 0
}

/// A resource group: the preferred node and its resources in start order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Preferred node, lower-case.
    pub node: String,
    pub resources: Vec<Resource>,
    /// First physical line of the group.
    pub line: usize,
}

impl Group {
    /// The group key (first resource as written).
    pub fn key(&self) -> &str {
        &self.resources[0].spec
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HaResources {
    pub groups: Vec<Group>,
}

impl HaResources {
    /// Parses and checks node names against `nodes` (lower-case).
    /// `path` is the name printed in messages.
    pub fn parse(
        text: &str,
        path: &str,
        nodes: &[String],
        diags: &mut Vec<Diag>,
    ) -> Option<HaResources> {
        let mut groups: Vec<Group> = Vec::new();
        let mut logical = String::new();
        let mut start_line = 0;
        let mut lines = text.lines().enumerate().peekable();
        while let Some((idx, raw)) = lines.next() {
            if logical.is_empty() {
                start_line = idx + 1;
            }
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let (body, continued) = match raw.strip_suffix('\\') {
                Some(b) => (b, true),
                None => (raw, false),
            };
            let body = body.split('#').next().unwrap_or("");
            logical.push_str(body);
            logical.push(' ');
            if continued && lines.peek().is_some() {
                continue;
            }
            let line = std::mem::take(&mut logical);
            let mut toks = line.split_whitespace();
            let Some(node) = toks.next() else {
                continue;
            };
            let at = Some(Location {
                file: path.to_string(),
                line: start_line,
            });
            let lnode = node.to_ascii_lowercase();
            if !nodes.contains(&lnode) {
                diags.push(
                    Diag::new(Level::Error, format!("Bad nodename in {path} [{node}]")).at(at),
                );
                return None;
            }
            let resources: Vec<Resource> = toks.map(Resource::parse).collect();
            if resources.is_empty() {
                diags.push(
                    Diag::new(
                        Level::Warn,
                        format!("No resources for node [{node}] in {path}: line ignored"),
                    )
                    .at(at),
                );
                continue;
            }
            let g = Group {
                node: lnode,
                resources,
                line: start_line,
            };
            if let Some(prev) = groups.iter().find(|p| p.key() == g.key()) {
                diags.push(
                    Diag::new(
                        Level::Warn,
                        format!(
                            "Resource group key [{}] in {path} is also used on line {}; the first group wins",
                            g.key(),
                            prev.line
                        ),
                    )
                    .at(at),
                );
            }
            groups.push(g);
        }
        Some(HaResources { groups })
    }

    /// Group by key (first match, as `grep` would find it).
    pub fn group(&self, key: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.key() == key)
    }

    /// `ResourceManager listkeys <node>`.
    pub fn keys_of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.groups
            .iter()
            .filter(move |g| g.node.eq_ignore_ascii_case(node))
            .map(Group::key)
    }

    /// Keys of groups whose preferred node is not `node`.
    pub fn keys_not_of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.groups
            .iter()
            .filter(move |g| !g.node.eq_ignore_ascii_case(node))
            .map(Group::key)
    }
}
