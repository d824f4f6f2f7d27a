//! ipvsadm's listing order: glibc `qsort` (a stable top-down merge sort)
//! driven by libipvs's comparators, which return differences of unsigned
//! 32-bit values converted to `int` and are therefore not transitive.
//! Because the result of a non-transitive comparator depends on the
//! algorithm, both are reproduced exactly rather than approximated with
//! `slice::sort_by` (which would also be allowed to panic on them).

use std::net::IpAddr;

use crate::model::*;

/// glibc `msort_with_tmp`: split at n/2, sort both halves, merge taking
/// from the left half while `cmp(left, right) <= 0`.
pub fn merge_sort<T: Clone>(v: &mut [T], cmp: &dyn Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    merge_sort(&mut v[..n1], cmp);
    merge_sort(&mut v[n1..], cmp);
    let left = v[..n1].to_vec();
    let right = v[n1..].to_vec();
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < left.len() && j < right.len() {
        if cmp(&left[i], &right[j]) <= 0 {
            v[k] = left[i].clone();
            i += 1;
        } else {
            v[k] = right[j].clone();
            j += 1;
        }
        k += 1;
    }
    for x in &left[i..] {
        v[k] = x.clone();
        k += 1;
    }
    for x in &right[j..] {
        v[k] = x.clone();
        k += 1;
    }
}

/// `(int)(u32)(a - b)`.
fn wrap_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// The four host-order 32-bit words of an address as libipvs stores it
/// (IPv4 in the first word, the rest zero).
fn words(a: &IpAddr) -> [u32; 4] {
    match a {
        IpAddr::V4(v4) => [u32::from(*v4), 0, 0, 0],
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

fn addr_cmp(af: u16, a: &[u32; 4], b: &[u32; 4]) -> i32 {
    if af == AF_INET6 {
        let mut r = 0;
        for i in 0..4 {
            r = wrap_diff(a[i], b[i]);
            if r != 0 {
                break;
            }
        }
        r
    } else {
        wrap_diff(a[0], b[0])
    }
}

/// The fields `ipvs_cmp_services` looks at; fwmark services have protocol,
/// address and port zero, as libipvs leaves them.
fn svc_fields(s: &Service) -> (u32, u16, u16, [u32; 4], u16) {
    match s.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (0, af_of(&addr), protocol, words(&addr), port),
        ServiceKey::Fwmark { af, mark } => (mark, af, 0, [0; 4], 0),
    }
}

/// libipvs `ipvs_cmp_services`.
pub fn cmp_services(a: &Service, b: &Service) -> i32 {
    let (fa, afa, pa, wa, porta) = svc_fields(a);
    let (fb, afb, pb, wb, portb) = svc_fields(b);
    let r = wrap_diff(fa, fb);
    if r != 0 {
        return r;
    }
    let r = afa as i32 - afb as i32;
    if r != 0 {
        return r;
    }
    let r = pa as i32 - pb as i32;
    if r != 0 {
        return r;
    }
    let r = addr_cmp(afa, &wa, &wb);
    if r != 0 {
        return r;
    }
    porta as i32 - portb as i32
}

/// libipvs `ipvs_cmp_dests` (the first destination's family decides how
/// many words are compared).
pub fn cmp_dests(a: &Destination, b: &Destination) -> i32 {
    let r = addr_cmp(a.af(), &words(&a.addr), &words(&b.addr));
    if r != 0 {
        return r;
    }
    a.port as i32 - b.port as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn tcp(a: [u8; 4]) -> Service {
        Service::new(ServiceKey::Addr {
            protocol: IPPROTO_TCP,
            addr: IpAddr::V4(Ipv4Addr::from(a)),
            port: 80,
        })
    }

    #[test]
    fn wrapping_difference_puts_200_before_10() {
        let mut v = vec![
            tcp([10, 1, 1, 1]),
            tcp([200, 1, 1, 1]),
            tcp([192, 168, 1, 10]),
        ];
        merge_sort(&mut v, &cmp_services);
        let order: Vec<_> = v
            .iter()
            .map(|s| match s.key {
                ServiceKey::Addr { addr, .. } => addr.to_string(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(order, ["192.168.1.10", "200.1.1.1", "10.1.1.1"]);
    }

    #[test]
    fn large_fwmarks_sort_before_address_services() {
        let f = Service::new(ServiceKey::Fwmark {
            af: AF_INET,
            mark: 0x8000_0001,
        });
        assert!(cmp_services(&f, &tcp([1, 2, 3, 4])) < 0);
    }
}
