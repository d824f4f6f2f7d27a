//! haresources grammar.

use heartbeat::config::haresources::{is_ip, HaResources, Resource};

fn nodes() -> Vec<String> {
    vec!["www3".into(), "www4".into()]
}

fn parse(text: &str) -> (Option<HaResources>, Vec<String>) {
    let mut d = Vec::new();
    let r = HaResources::parse(text, "/etc/ha.d//haresources", &nodes(), &mut d);
    (r, d.iter().map(|x| x.to_string()).collect())
}

#[test]
fn seed_line() {
    let (r, d) = parse("www3 211.238.41.170 puck\n");
    assert!(d.is_empty());
    let r = r.unwrap();
    let g = &r.groups[0];
    assert_eq!(g.node, "www3");
    assert_eq!(g.key(), "211.238.41.170");
    assert_eq!(g.resources[0].script, "IPaddr");
    assert_eq!(g.resources[0].args, ["211.238.41.170"]);
    assert_eq!(
        g.resources[1],
        Resource {
            spec: "puck".into(),
            script: "puck".into(),
            args: vec![]
        }
    );
}

#[test]
fn scripts_with_arguments_continuations_and_comments() {
    let text = "# groups\nWWW4 IPaddr2::10.0.0.5/24/eth0:1 \\\n   Filesystem::/dev/sda1::/data1::ext2 # fs\nwww3\t10.0.0.1/24/eth0/10.0.0.255  httpd\n";
    let (r, d) = parse(text);
    assert!(d.is_empty(), "{d:?}");
    let r = r.unwrap();
    assert_eq!(r.groups.len(), 2);
    let g = &r.groups[0];
    assert_eq!((g.node.as_str(), g.line), ("www4", 2));
    assert_eq!(g.key(), "IPaddr2::10.0.0.5/24/eth0:1");
    assert_eq!(g.resources[1].script, "Filesystem");
    assert_eq!(g.resources[1].args, ["/dev/sda1", "/data1", "ext2"]);
    let g = &r.groups[1];
    assert_eq!(g.resources[0].script, "IPaddr");
    assert_eq!(g.resources[0].args, ["10.0.0.1/24/eth0/10.0.0.255"]);
    assert_eq!(
        r.keys_of("www4").collect::<Vec<_>>(),
        ["IPaddr2::10.0.0.5/24/eth0:1"]
    );
    assert_eq!(
        r.keys_not_of("www4").collect::<Vec<_>>(),
        ["10.0.0.1/24/eth0/10.0.0.255"]
    );
}

#[test]
fn bad_node_is_fatal_with_position() {
    let (r, d) = parse("www3 1.2.3.4\nwwwx 1.2.3.5\n");
    assert!(r.is_none());
    assert_eq!(
        d,
        ["/etc/ha.d//haresources:2: ERROR: Bad nodename in /etc/ha.d//haresources [wwwx]"]
    );
}

#[test]
fn duplicate_keys_and_empty_groups_warn() {
    let (r, d) = parse("www3 1.2.3.4 a\nwww4 1.2.3.4 b\nwww4\n");
    assert_eq!(r.unwrap().groups.len(), 2);
    assert_eq!(d.len(), 2);
    assert!(d[0].contains("also used on line 1"));
    assert!(d[1].contains("No resources for node [www4]"));
}

#[test]
fn ip_shorthand_glob() {
    for ip in [
        "1.2.3.4",
        "10.0.0.1/24",
        "10.0.0.1/24/eth0",
        "1.2.3.4.5",
        "1a.2.3.4",
    ] {
        assert!(is_ip(ip), "{ip}");
    }
    for not in ["a.2.3.4", "1.2.3", "1..2.3", "httpd", "", "1.2.3."] {
        assert!(!is_ip(not), "{not}");
    }
}
