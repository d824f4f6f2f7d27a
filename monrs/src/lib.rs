//! mon: service monitoring daemon (mon.cf, scheduler, alerts, client protocol).
