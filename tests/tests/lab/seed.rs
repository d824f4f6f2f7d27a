//! The seed cluster scenarios (issue 6) with our tools on both directors.
