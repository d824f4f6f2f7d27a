//! Running Debian's heartbeat 3.0.6 and mon 1.3.6 as one of the seed
//! cluster's directors (the rolling-replacement scenarios).
