//! Rolling replacement: the seed scenarios with Debian's heartbeat 3.0.6 and mon 1.3.6 on one director and ours on the other.
