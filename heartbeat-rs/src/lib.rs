//! Heartbeat (haresources mode): config, membership, wire protocol, resources.
