//! End to end down to the bytes: command lines of Appendix C, C2 and D run
//! through the CLI and the real netlink client (over a scripted fake
//! transport), and the datagrams sent must equal the requests ipvsadm 1.31
//! was captured sending (`raw:` lines; seq normalised to 1, port id to 0).

use std::cell::RefCell;
use std::rc::Rc;

use ipvs::cli::run_with;
use ipvs::netlink::kernel::{self, To};
use ipvs::netlink::transport::request_seq_pid;
use ipvs::netlink::{Client, FakeTransport};
use ipvs::Ipvs;

use super::golden::parse_cases_with_raw;
use super::support::*;

const FAMILY: u16 = 0x2a;

fn kernel_reply(req: &[u8]) -> Vec<Vec<u8>> {
    let (seq, pid) = request_seq_pid(req);
    let flags = u16::from_ne_bytes([req[6], req[7]]);
    let dump = flags & 0x300 == 0x300;
    let table = fixture_table();
    match req[16] {
        15 => vec![
            kernel::info(
                To::doit(FAMILY, seq, pid),
                &ipvs::Info {
                    version: 0x010201,
                    conn_tab_size: 4096,
                },
            ),
            kernel::ack(req),
        ],
        4 if !dump => vec![
            kernel::service(To::doit(FAMILY, seq, pid), &table[0].0),
            kernel::ack(req),
        ],
        8 => {
            let mut d: Vec<u8> = table[0]
                .1
                .iter()
                .flat_map(|x| kernel::dest(To::dump(FAMILY, seq, pid), x))
                .collect();
            d.extend(kernel::done(seq, pid, 0));
            vec![d]
        }
        13 => vec![
            kernel::timeouts(
                To::doit(FAMILY, seq, pid),
                &ipvs::Timeouts {
                    tcp: 900,
                    tcp_fin: 120,
                    udp: 300,
                },
            ),
            kernel::ack(req),
        ],
        11 => {
            let mut d: Vec<u8> = fixture_daemons()
                .iter()
                .flat_map(|x| kernel::daemon(To::dump(FAMILY, seq, pid), x))
                .collect();
            d.extend(kernel::done(seq, pid, 0));
            vec![d]
        }
        _ => vec![kernel::ack(req)],
    }
}

fn normalised_hex(m: &[u8]) -> String {
    let mut m = m.to_vec();
    if m.len() >= 16 {
        m[8..12].copy_from_slice(&1u32.to_ne_bytes());
        m[12..16].copy_from_slice(&0u32.to_ne_bytes());
    }
    m.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn requests_on_the_wire_match_ipvsadm_captures() {
    let cases = parse_cases_with_raw();
    let total: usize = cases.iter().map(|(_, r)| r.len()).sum();
    assert!(
        cases.len() >= 40 && total >= 45,
        "only {} cases / {total} raw requests",
        cases.len()
    );
    let mut failures = Vec::new();
    for (c, raws) in &cases {
        let sent: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
        let s2 = sent.clone();
        let mut open = move || -> ipvs::Result<Box<dyn Ipvs>> {
            let s3 = s2.clone();
            let t = FakeTransport::responder(77, move |req| {
                s3.borrow_mut().push(req.to_vec());
                kernel_reply(req)
            });
            Ok(Box::new(Client::with_family(t, FAMILY)))
        };
        let args: Vec<&str> = c.args.iter().map(|s| s.as_str()).collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut input: &[u8] = b"";
        let status = run_with(
            &argv(&args),
            &mut input,
            &mut out,
            &mut err,
            &mut FakeHost::default(),
            &mut open,
        );
        let got: Vec<String> = sent
            .borrow()
            .iter()
            .skip(1)
            .map(|m| normalised_hex(m))
            .collect();
        if Some(status) != c.exit || &got != raws {
            failures.push(format!(
                "$ {}\nstatus {status} stderr {}\nwant {raws:#?}\ngot  {got:#?}",
                c.header,
                String::from_utf8_lossy(&err)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
