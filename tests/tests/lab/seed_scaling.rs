//! Scaling efficiency (seed section 5.1): requests/s through the VIP with one and two web nodes.
